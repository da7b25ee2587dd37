package listen

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
)

func TestParseAddrReadsNginxListenForms(t *testing.T) {
	tests := []struct {
		in      string
		network string
		address string
	}{
		{"80", "tcp4", "0.0.0.0:80"},
		{"*:8080", "tcp4", "0.0.0.0:8080"},
		{"127.0.0.1", "tcp4", "127.0.0.1:80"},
		{"127.0.0.1:8080", "tcp4", "127.0.0.1:8080"},
		{"[::]:80", "tcp6", "[::]:80"},
		{"[::1]", "tcp6", "[::1]:80"},
		{"localhost:8080", "tcp", "localhost:8080"},
		{"igu.io", "tcp", "igu.io:80"},
		{"unix:/tmp/igu-io.sock", "unix", "/tmp/igu-io.sock"},
		{"unix:/tmp/../tmp/x.sock", "unix", "/tmp/x.sock"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAddr(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if a.Network != tc.network || a.Address != tc.address {
				t.Errorf("ParseAddr(%q) = %s %s, want %s %s", tc.in, a.Network, a.Address, tc.network, tc.address)
			}
		})
	}
}

func TestParseAddrRejectsBadFormsWithNginxWording(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", "invalid host"},
		{"0", `invalid port in "0"`},
		{"65536", `invalid port in "65536"`},
		{"127.0.0.1:x", `invalid port in "127.0.0.1:x"`},
		{"8000-8010", "port ranges are not supported"},
		{"[::1", "invalid host"},
		{"[127.0.0.1]:80", "invalid IPv6 address"},
		{"a:b:80", "invalid host"},
		{"unix:", "no path in the unix domain socket"},
		{"unix:@abstract", "abstract unix socket"},
		{"unix:/" + strings.Repeat("x", 107), "must be shorter than 108 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseAddr(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseAddr(%q) error = %v, want one containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestAddrStringIsTheNginxForm(t *testing.T) {
	for _, in := range []string{"unix:/run/a.sock", "127.0.0.1:8080", "[::1]:80"} {
		a, err := ParseAddr(in)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != in {
			t.Errorf("ParseAddr(%q).String() = %q", in, a.String())
		}
	}
}

func TestParsePermReadsGhostPermissions(t *testing.T) {
	tests := []struct {
		name string
		json string
		want fs.FileMode
	}{
		{"octal string", `"0666"`, 0o666},
		{"octal string without the zero", `"660"`, 0o660},
		{"0o prefix", `"0o600"`, 0o600},
		{"a number is the mode's value", `438`, 0o666},
		{"zero", `"0"`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range decodeBoth(t, tc.json) {
				got, err := ParsePerm(v)
				if err != nil {
					t.Fatalf("ParsePerm(%#v): %v", v, err)
				}
				if got != tc.want {
					t.Errorf("ParsePerm(%#v) = %#o, want %#o", v, got, tc.want)
				}
			}
		})
	}
}

func TestParsePermRefusesWhatIsNotAMode(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"symbolic", `"rw-rw-rw-"`, `invalid permissions "rw-rw-rw-"`},
		{"digit 8", `"0680"`, `invalid permissions "0680"`},
		{"empty", `""`, `invalid permissions ""`},
		{"bare prefix", `"0o"`, `invalid permissions "0o"`},
		{"set-id bits", `"4755"`, "only the bits 0777"},
		{"unquoted 660 means 0o1224 to Node", `660`, `write the mode as a string such as "0660"`},
		{"negative", `-1`, "invalid permissions -1"},
		{"fraction", `4.5`, "invalid permissions 4.5"},
		{"boolean", `true`, "invalid permissions true"},
		{"object", `{}`, "invalid permissions {}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range decodeBoth(t, tc.json) {
				_, err := ParsePerm(v)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("ParsePerm(%#v) error = %v, want one containing %q", v, err, tc.want)
				}
			}
		})
	}
}

// decodeBoth decodes a JSON value as encoding/json does by default
// (float64 numbers) and with UseNumber, since config loaders use either.
func decodeBoth(t *testing.T, s string) []any {
	t.Helper()
	var plain any
	if err := json.Unmarshal([]byte(s), &plain); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var num any
	if err := dec.Decode(&num); err != nil {
		t.Fatal(err)
	}
	return []any{plain, num}
}
