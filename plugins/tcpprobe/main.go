// Command hawatch-tcpprobe is the hawatch check plugin that probes a TCP
// service: connect, optional send/expect, optional HTTP GET.
package main

import (
	"github.com/hawatch/hawatch/plugins/tcpprobe/tcpprobe"
	"github.com/hawatch/hawatch/sdk"
)

func main() { sdk.Serve(tcpprobe.New()) }
