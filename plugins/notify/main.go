// Command hawatch-notify is the hawatch action plugin that tells people and
// scripts about state transitions: exec, smtp and webhook.
package main

import (
	"github.com/hawatch/hawatch/plugins/notify/notify"
	"github.com/hawatch/hawatch/sdk"
)

func main() { sdk.Serve(notify.New()) }
