// Package pluginv1 is the generated gRPC code for plugin.proto. Regenerate
// with `go generate ./sdk/proto/...` after editing the .proto file; the
// generated files are committed so building hawatch needs no protoc.
package pluginv1

//go:generate env PATH=/root/go/bin:$PATH protoc -I . -I /usr/include --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
