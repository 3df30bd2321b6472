package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

type tlsBlock struct {
	CA       string `hawatch:"ca" doc:"CA file"`
	Insecure bool   `hawatch:"insecure" default:"false"`
}

type httpBlock struct {
	Path   string `hawatch:"path,required" pattern:"/.*"`
	Status *int   `hawatch:"status,min=100,max=599" default:"200"`
}

type testConfig struct {
	Address string        `hawatch:"address,required,kind=address" doc:"host:port"`
	Port    uint16        `hawatch:"port,kind=port" default:"80"`
	Percent float64       `hawatch:"percent,min=0,max=100" default:"10"`
	Every   time.Duration `hawatch:"every,min=10ms" default:"1s"`
	Grace   sdk.Duration  `hawatch:"grace"`
	Mode    string        `hawatch:"mode" oneof:"fast|slow" default:"fast"`
	Tags    []string      `hawatch:"tags" default:"a,b"`
	Min     int           `hawatch:"min" default:"1"`
	Max     int           `hawatch:"max,ge=min,zero_unset" default:"0"`
	Send    string        `hawatch:"send,conflicts=http"`
	TLS     tlsBlock      `hawatch:"tls"`
	HTTP    *httpBlock    `hawatch:"http"`

	re *regexp.Regexp // derived by Validate
}

func (c *testConfig) Validate() error {
	if c.Mode == "slow" && c.Every < time.Second {
		return errors.New("slow mode wants every >= 1s")
	}
	c.re = regexp.MustCompile(regexp.QuoteMeta(c.Address))
	return nil
}

func TestSchemaOf(t *testing.T) {
	s := sdk.SchemaOf[testConfig]()
	byName := map[string]sdk.Attribute{}
	for _, a := range s.Attributes {
		byName[a.Name] = a
	}
	if a := byName["address"]; a.Type != sdk.TypeAddress || !a.Required || a.Description != "host:port" {
		t.Errorf("address = %+v", a)
	}
	if a := byName["port"]; a.Type != sdk.TypePort || a.Default != 80.0 {
		t.Errorf("port = %+v", a)
	}
	if a := byName["every"]; a.Type != sdk.TypeDuration || *a.Min != 0.01 || a.Default != "1s" {
		t.Errorf("every = %+v", a)
	}
	if a := byName["grace"]; a.Type != sdk.TypeDuration || a.Default != nil {
		t.Errorf("grace = %+v", a)
	}
	if a := byName["tags"]; a.Type != sdk.TypeListString || !reflect.DeepEqual(a.Default, []string{"a", "b"}) {
		t.Errorf("tags = %+v", a)
	}
	if a := byName["mode"]; !reflect.DeepEqual(a.OneOf, []string{"fast", "slow"}) {
		t.Errorf("mode = %+v", a)
	}
	if len(s.Blocks) != 2 || s.Blocks[0].Name != "tls" || s.Blocks[1].Name != "http" || s.Blocks[1].Schema.Attributes[0].Pattern != "/.*" {
		t.Errorf("blocks = %+v", s.Blocks)
	}
	want := []sdk.Rule{{Op: sdk.RuleGE, Attrs: []string{"max", "min"}, ZeroUnset: true}, {Op: sdk.RuleConflicts, Attrs: []string{"http", "send"}}}
	if !reflect.DeepEqual(s.Rules, want) {
		t.Errorf("rules = %+v, want %+v", s.Rules, want)
	}
}

func TestSchemaOfRefusesBadTags(t *testing.T) {
	type noName struct {
		X string `hawatch:""`
	}
	type badKind struct {
		X bool `hawatch:"x,kind=port"`
	}
	type badDefault struct {
		X int `hawatch:"x,max=5" default:"9"`
	}
	type badRule struct {
		X int `hawatch:"x,ge=y"`
	}
	type badType struct {
		X map[string]int `hawatch:"x"`
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[noName](), reflect.TypeFor[badKind](), reflect.TypeFor[badDefault](),
		reflect.TypeFor[badRule](), reflect.TypeFor[badType]()} {
		if _, err := sdk.SchemaFor(typ); err == nil {
			t.Errorf("%s: no error", typ.Name())
		}
	}
}

func raw(t *testing.T, m map[string]any) sdk.Config {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return sdk.Config{Raw: b}
}

func TestDecodeAppliesDefaultsAndValidates(t *testing.T) {
	c, err := sdk.Decode[testConfig](raw(t, map[string]any{"address": "198.51.100.1:80", "http": map[string]any{"path": "/x"}}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 80 || c.Percent != 10 || c.Every != time.Second || c.Mode != "fast" || !reflect.DeepEqual(c.Tags, []string{"a", "b"}) ||
		c.Min != 1 || c.TLS.Insecure || c.HTTP == nil || *c.HTTP.Status != 200 || c.re == nil {
		t.Errorf("decoded %+v", c)
	}
	// What the host sends (every key, nulls for absent values) decodes the same.
	c2, err := sdk.Decode[testConfig](raw(t, map[string]any{"address": "198.51.100.1:80", "port": 80, "percent": 10, "every": "1s",
		"grace": nil, "mode": "fast", "tags": []string{"a", "b"}, "min": 1, "max": 0, "send": nil,
		"tls": map[string]any{"ca": nil, "insecure": false}, "http": map[string]any{"path": "/x", "status": 200}}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("host form %+v\n!= sdktest form %+v", c2, c)
	}
	if c, err := sdk.Decode[testConfig](raw(t, map[string]any{"address": "a:1"})); err != nil || c.HTTP != nil {
		t.Errorf("absent pointer block: %+v, %v", c, err)
	}

	for _, tc := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{}, "address is required"},
		{map[string]any{"address": "198.51.100.1:70000"}, "port 70000 is not 1-65535"},
		{map[string]any{"address": "a:1", "percent": 150}, "above the maximum 100"},
		{map[string]any{"address": "a:1", "every": "1ms"}, "below the minimum 10ms"},
		{map[string]any{"address": "a:1", "mode": "medium"}, `not one of "fast", "slow"`},
		{map[string]any{"address": "a:1", "min": 5, "max": 2}, "max = 2 must be >= min = 5"},
		{map[string]any{"address": "a:1", "min": 1.5}, "want a whole number"},
		{map[string]any{"address": "a:1", "send": "x", "http": map[string]any{"path": "/"}}, "send cannot be combined with http"},
		{map[string]any{"address": "a:1", "http": map[string]any{"path": "x"}}, `http.path "x" does not match`},
		{map[string]any{"address": "a:1", "http": map[string]any{"path": "/", "status": 700}}, "http.status 700 is above"},
		{map[string]any{"address": "a:1", "bogus": 1}, "bogus: unknown attribute"},
		{map[string]any{"address": "a:1", "mode": "slow", "every": "100ms"}, "slow mode wants"},
	} {
		_, err := sdk.Decode[testConfig](raw(t, tc.m))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.m, err, tc.want)
		}
	}
}

type plugin struct {
	sdk.Configured[testConfig]
}

// TestConfiguredIsRaceFree: readers see whole configs while reloads
// replace them (run with -race).
func TestConfiguredIsRaceFree(t *testing.T) {
	var p plugin
	if p.Config() != nil {
		t.Fatal("config before Configure")
	}
	ctx := context.Background()
	if err := p.Configure(ctx, raw(t, map[string]any{"address": "a:1"})); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			addr := "a:1"
			if i%2 == 1 {
				addr = "b:2"
			}
			if err := p.Configure(ctx, raw(t, map[string]any{"address": addr})); err != nil {
				t.Error(err)
			}
		}
	})
	for range 200 {
		c := p.Config()
		if c.Address != "a:1" && c.Address != "b:2" || !c.re.MatchString(c.Address) {
			t.Fatalf("torn config %+v", c)
		}
	}
	wg.Wait()
	if err := p.Configure(ctx, raw(t, map[string]any{"address": "nope"})); err == nil || p.Config().Address == "nope" {
		t.Error("a refused config became current")
	}
}

// FuzzDecode: any JSON object yields a config or an error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(`{"address":"a:1","http":{"path":"/","status":200.5}}`)
	f.Add(`{"address":"a:1","tags":[1,null],"tls":[],"min":1e300}`)
	f.Add(`{"address":"a:1","every":7,"port":-1,"max":-2}`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := sdk.Decode[testConfig](sdk.Config{Raw: json.RawMessage(s)})
		if err == nil && c.Address == "" {
			t.Fatalf("decoded %q without its required address", s)
		}
	})
}
