package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in the config as Go's duration text
// ("5m", "720h").
type Duration time.Duration

// UnmarshalText parses "5m", "1h30m" and the like.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 5m or 720h", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go's duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
