package process

import (
	"errors"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

func TestConfigure(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr bool
		check   func(t *testing.T, s *settings)
	}{
		{"name with defaults", `{"name":"nginx"}`, false, func(t *testing.T, s *settings) {
			if s.min != 1 || s.max != 0 || s.debounce != 0 || s.rescan != DefaultRescan || !s.useConnector {
				t.Errorf("defaults: %+v", s)
			}
			if s.label() != "nginx" {
				t.Errorf("label %q", s.label())
			}
		}},
		{"all attributes as the host sends them", `{"name":"nginx","min":2,"max":4,"debounce":"250ms","rescan":"50ms","use_connector":false}`, false,
			func(t *testing.T, s *settings) {
				if s.min != 2 || s.max != 4 || s.debounce != 250*time.Millisecond || s.rescan != 50*time.Millisecond || s.useConnector {
					t.Errorf("got %+v", s)
				}
			}},
		{"min zero is allowed", `{"name":"x","min":0}`, false, func(t *testing.T, s *settings) {
			if s.min != 0 {
				t.Errorf("min %d", s.min)
			}
		}},
		{"pidfile label", `{"pidfile":"/run/nginx.pid"}`, false, func(t *testing.T, s *settings) {
			if s.label() != "/run/nginx.pid" {
				t.Errorf("label %q", s.label())
			}
		}},
		{"cmdline label", `{"cmdline":"^nginx: master"}`, false, func(t *testing.T, s *settings) {
			if s.label() != "^nginx: master" || !s.cmdline.MatchString("nginx: master process /usr/sbin/nginx") {
				t.Errorf("label %q", s.label())
			}
		}},
		{"empty duration string is zero", `{"name":"x","debounce":""}`, false, nil},
		{"nothing to match", `{}`, true, nil},
		{"empty raw config", ``, true, nil},
		{"bad regexp", `{"cmdline":"("}`, true, nil},
		{"max below min", `{"name":"x","min":3,"max":2}`, true, nil},
		{"negative min", `{"name":"x","min":-1}`, true, nil},
		{"negative max", `{"name":"x","max":-1}`, true, nil},
		{"pidfile cannot reach min 2", `{"pidfile":"/run/x.pid","min":2}`, true, nil},
		{"negative debounce", `{"name":"x","debounce":"-1s"}`, true, nil},
		{"bad duration", `{"name":"x","debounce":"soon"}`, true, nil},
		{"tiny rescan", `{"name":"x","rescan":"10us"}`, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			err := p.Configure(t.Context(), sdk.Config{Raw: []byte(tt.json)})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Configure(%s) error = %v, wantErr %v", tt.json, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tt.check != nil {
				tt.check(t, p.Config().s)
			}
		})
	}
}

func TestConfigErrorsWrapErrConfig(t *testing.T) {
	err := New().Configure(t.Context(), sdk.Config{Raw: []byte(`{"name":"x","max":-2}`)})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("error %v does not wrap ErrConfig", err)
	}
}

func TestSchemaDeclaresEveryConfigField(t *testing.T) {
	want := map[string]sdk.Type{
		"name": sdk.TypeString, "pidfile": sdk.TypeString, "cmdline": sdk.TypeString,
		"min": sdk.TypeNumber, "max": sdk.TypeNumber, "debounce": sdk.TypeDuration,
		"rescan": sdk.TypeDuration, "use_connector": sdk.TypeBool,
	}
	got := map[string]sdk.Type{}
	for _, a := range New().Schema().Attributes {
		got[a.Name] = a.Type
		if a.Description == "" {
			t.Errorf("attribute %s has no description", a.Name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("schema has %d attributes, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s: type %q, want %q", k, got[k], v)
		}
	}
	if info := New().Info(); info.Name != "process" || info.Kind != sdk.KindCheck {
		t.Errorf("Info() = %+v", info)
	}
}

func TestWatchBeforeConfigure(t *testing.T) {
	err := New().Watch(t.Context(), func(sdk.Result) {})
	if !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Watch before Configure = %v, want ErrNotConfigured", err)
	}
}
