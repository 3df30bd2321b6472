//go:build !unix

package pluginhost

import "fmt"

func checkBinary(path string, pluginUID int) error {
	return fmt.Errorf("%w: %s: ownership checks are only implemented on unix", ErrUnsafePath, path)
}
