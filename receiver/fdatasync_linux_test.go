package receiver_test

import (
	"os"
	"syscall"
)

// fdatasync makes f's data durable without its modification time, as the
// store does.
func fdatasync(f *os.File) error {
	for {
		if err := syscall.Fdatasync(int(f.Fd())); err != syscall.EINTR {
			return err
		}
	}
}
