package config

import (
	"encoding"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment variables that carry secret values rather than override a key.
// They are read by LoadSecrets, never stored in Config: EnvAdminToken and
// EnvAppToken are the internal listener's bearer tokens, EnvStoreKey the
// store key, EnvWebhookKey the webhook signing secret.
const (
	EnvAdminToken = "RISCD_INTERNAL_ADMIN_TOKEN"
	EnvAppToken   = "RISCD_INTERNAL_APP_TOKEN"
	EnvStoreKey   = "RISCD_STORE_KEY"
	EnvWebhookKey = "RISCD_COMPANION_WEBHOOK_SECRET"
	// EnvPGPassword is PostgreSQL's own variable for the password
	// (libpq's), used with store.engine postgres when neither store.url nor
	// store.password_file gives one.
	EnvPGPassword = "PGPASSWORD"
)

// envOverrides lists the environment variable for every key of Config, in the
// order of the struct, with a pointer to the value it sets.
func envOverrides(cfg *Config) []envVar {
	var vars []envVar
	var walk func(v reflect.Value, path []string)
	walk = func(v reflect.Value, path []string) {
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			p := append(append([]string(nil), path...), name)
			f := v.Field(i)
			if f.Kind() == reflect.Struct {
				walk(f, p)
				continue
			}
			vars = append(vars, envVar{
				name:  envPrefix + strings.ToUpper(strings.Join(p, "_")),
				key:   strings.Join(p, "."),
				value: f,
			})
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), nil)
	return vars
}

type envVar struct {
	name  string
	key   string
	value reflect.Value
}

// applyEnv sets every key whose RISCD_* variable is present in environ.
// Strings are taken as they are; lists as a YAML flow sequence ("[a, b]") or
// comma-separated; maps as a YAML flow mapping.
func applyEnv(cfg *Config, environ []string) Errors {
	env := envMap(environ)
	var errs Errors
	for _, v := range envOverrides(cfg) {
		raw, ok := env[v.name]
		if !ok {
			continue
		}
		if tu, ok := v.value.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if err := tu.UnmarshalText([]byte(strings.TrimSpace(raw))); err != nil {
				errs = append(errs, Error{File: v.name, Key: v.key, Msg: err.Error()})
			}
			continue
		}
		switch v.value.Kind() {
		case reflect.String:
			v.value.SetString(raw)
		case reflect.Bool:
			b, err := strconv.ParseBool(strings.TrimSpace(raw))
			if err != nil {
				errs = append(errs, Error{File: v.name, Key: v.key, Msg: "not true or false"})
				continue
			}
			v.value.SetBool(b)
		case reflect.Int:
			n, err := strconv.Atoi(strings.TrimSpace(raw))
			if err != nil {
				errs = append(errs, Error{File: v.name, Key: v.key, Msg: "not an integer"})
				continue
			}
			v.value.SetInt(int64(n))
		case reflect.Slice:
			if v.value.Type().Elem().Kind() != reflect.String {
				errs = append(errs, decodeEnvYAML(v, raw, "a YAML sequence")...)
				continue
			}
			var list []string
			if strings.HasPrefix(strings.TrimSpace(raw), "[") {
				if err := yaml.Unmarshal([]byte(raw), &list); err != nil {
					errs = append(errs, Error{File: v.name, Key: v.key, Msg: "not a YAML list of strings"})
					continue
				}
			} else {
				for s := range strings.SplitSeq(raw, ",") {
					if s = strings.TrimSpace(s); s != "" {
						list = append(list, s)
					}
				}
			}
			v.value.Set(reflect.ValueOf(list))
		case reflect.Map:
			errs = append(errs, decodeEnvYAML(v, raw, "a YAML mapping")...)
		}
	}
	return errs
}

// decodeEnvYAML sets a structured value from YAML text, as strictly as the
// config file: unknown keys are errors.
func decodeEnvYAML(v envVar, raw, what string) Errors {
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &node); err != nil || len(node.Content) == 0 {
		return Errors{{File: v.name, Key: v.key, Msg: "not " + what}}
	}
	if ue := unknownKeys(v.name, node.Content[0], v.value.Type(), v.key); len(ue) > 0 {
		return ue
	}
	p := reflect.New(v.value.Type())
	if err := node.Content[0].Decode(p.Interface()); err != nil {
		return Errors{{File: v.name, Key: v.key, Msg: "not " + what + " of the expected shape"}}
	}
	v.value.Set(p.Elem())
	return nil
}

// UnknownEnv returns the RISCD_* variables in environ that riscd does not
// read, so a misspelt override is reported rather than silently ignored.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{EnvAdminToken: true, EnvAppToken: true, EnvStoreKey: true, EnvWebhookKey: true}
	var cfg Config
	for _, v := range envOverrides(&cfg) {
		known[v.name] = true
	}
	var out []string
	for name := range envMap(environ) {
		if strings.HasPrefix(name, envPrefix) && !known[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Getenv returns the value of the variable name in environ (os.Environ's
// form), or "" when it is not set.
func Getenv(environ []string, name string) string {
	return envMap(environ)[name]
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
