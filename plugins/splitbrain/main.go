// Command hawatch-splitbrain is the hawatch peer guard: a check that fails
// while another node answers ARP for our VIP. It needs CAP_NET_RAW.
package main

import (
	"github.com/hawatch/hawatch/plugins/splitbrain/splitbrain"
	"github.com/hawatch/hawatch/sdk"
)

func main() { sdk.Serve(splitbrain.New()) }
