// Command hawatch-httpcheck is an example hawatch check plugin: an HTTP GET
// that expects a status code. It is built only against the public sdk
// package; see README.md.
package main

import "github.com/hawatch/hawatch/sdk"

func main() {
	sdk.Serve(newHTTPCheck())
}
