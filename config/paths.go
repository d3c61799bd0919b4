package config

import "path/filepath"

// filePaths are the configuration's values that name files.
func (c *Config) filePaths() []*string {
	ps := []*string{
		&c.Store.Path, &c.Store.KeyFile, &c.Store.PasswordFile, &c.Google.ClientSecretsFile,
		&c.Internal.AdminTokenFile, &c.Internal.AppTokenFile, &c.Companion.WebhookSecretFile,
		&c.RISC.ServiceAccountFile,
	}
	for i := range c.Store.PreviousKeyFiles {
		ps = append(ps, &c.Store.PreviousKeyFiles[i])
	}
	return ps
}

// resolvePaths makes each relative file path of c absolute: joined to dir,
// or, when dir is "", to the working directory.
func (c *Config) resolvePaths(dir string) {
	for _, p := range c.filePaths() {
		if *p == "" || filepath.IsAbs(*p) {
			continue
		}
		if dir != "" {
			*p = filepath.Join(dir, *p)
		} else if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}
}
