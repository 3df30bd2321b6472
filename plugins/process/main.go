// Command hawatch-process is the hawatch check plugin that watches processes
// (by name, pid file or command line) and reports a death within milliseconds.
package main

import (
	"github.com/hawatch/hawatch/plugins/process/process"
	"github.com/hawatch/hawatch/sdk"
)

func main() { sdk.Serve(process.New()) }
