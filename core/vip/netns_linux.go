package vip

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetNS runs fn with the calling thread in the network namespace at path
// ("" = the current one). Sockets keep the namespace they were created in,
// so this is how the packet sockets are opened in the interface's namespace.
//
// fn runs on a fresh goroutine locked to its OS thread and never unlocked:
// when the goroutine ends, the runtime throws that thread away instead of
// handing a thread in the wrong namespace to other goroutines.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", path, err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
