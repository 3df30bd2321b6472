// Command hawatch-etcd is the hawatch witness plugin on etcd (v3 API): the
// right to own an instance's VIPs is a key under a prefix, bound to a lease.
package main

import (
	"github.com/hawatch/hawatch/plugins/etcd/etcd"
	"github.com/hawatch/hawatch/sdk"
)

func main() { sdk.Serve(etcd.New()) }
