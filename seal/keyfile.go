package seal

import (
	"errors"
	"io/fs"
	"os"
)

// ReadKeyFile reads a key from a key file (ParseKey's text form). Its
// error says what was wrong with the file ("no such file", "permission
// denied") or the text, without the path, which the caller knows, and
// never the file's contents.
func ReadKeyFile(path string) (Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, &fileError{err}
	}
	defer clear(data)
	return ParseKey(data)
}

// LoadOrCreateKeyFile reads a key file, or, when there is none at path,
// makes a new random key there (mode 0600, never overwriting a file) and
// reports created. Errors are ReadKeyFile's.
func LoadOrCreateKeyFile(path string) (k Key, created bool, err error) {
	k, err = ReadKeyFile(path)
	if err == nil {
		return k, false, nil
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, fs.ErrNotExist) {
		return Key{}, false, err
	}
	k, text, err := GenerateKey()
	if err != nil {
		return Key{}, false, err
	}
	defer clear(text)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Key{}, false, &fileError{err}
	}
	if _, err := f.Write(append(text, '\n')); err != nil {
		f.Close()
		return Key{}, false, err
	}
	if err := f.Close(); err != nil {
		return Key{}, false, err
	}
	return k, true, nil
}

// fileError is a failure to read or create a key file, reading as the
// problem alone ("no such file") while errors.Is still finds its cause.
type fileError struct{ err error }

func (e *fileError) Error() string {
	switch {
	case errors.Is(e.err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(e.err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(e.err, &pe) {
		return pe.Err.Error()
	}
	return e.err.Error()
}

func (e *fileError) Unwrap() error { return e.err }
