// Package config is riscd's configuration: the YAML file, decoded strictly
// (go.yaml.in/yaml/v3; an unknown key is an error naming its line), the
// RISCD_* environment overrides of every key, validation, and the secrets
// the file points at (client_secret.json, the store keys, the internal
// bearer tokens, the webhook secret). config.example.yaml documents every
// key.
//
// The steps, each usable alone and all together in Resolve:
//
//	Load         read the file, fill defaults, apply the environment
//	Validate     check every value that needs no other file
//	LoadSecrets  read the files the config names
//
// Config is read here only; cmd/riscd translates it into each package's own
// Config struct. The package holds no globals and reads neither the process
// environment nor any file but those named: the environment comes in as an
// argument in os.Environ's form.
//
// Errors: every function that reads or checks configuration reports every
// problem it finds at once, as Errors, one Error per problem, each naming
// the config file (or, for a bad override, the environment variable), the
// key's dotted path and the line when it is known. Error's text is one line
// per problem: "file:line: key: message". No message carries a secret
// value.
package config
