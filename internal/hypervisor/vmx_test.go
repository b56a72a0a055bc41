package hypervisor

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseVMX(t *testing.T) {
	text := fixture(t, "vmx/hand-edited.vmx")
	v, err := ParseVMX(text)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Values", func(t *testing.T) {
		tests := []struct{ key, want string }{
			{"displayName", `web "prod" | blue`},
			{"DISPLAYNAME", `web "prod" | blue`},
			{"annotation", "line one\nline two"},
			{"numvcpus", "4"},
			{"guestinfo.odd", "lower | and lone | bar and |zz"},
			{".encoding", "UTF-8"},
		}
		for _, tt := range tests {
			if got, ok := v.Get(tt.key); !ok || got != tt.want {
				t.Errorf("%s: got %q, %v; want %q", tt.key, got, ok, tt.want)
			}
		}
		if _, ok := v.Get("missing"); ok {
			t.Error("missing key reported as set")
		}
	})

	t.Run("WrittenBackExactly", func(t *testing.T) {
		if got := v.String(); got != text {
			t.Errorf("got\n%s\nwant\n%s", got, text)
		}
	})

	t.Run("SetInPlaceAndAppend", func(t *testing.T) {
		v, _ := ParseVMX(text)
		if err := v.Set("memsize", "4096"); err != nil {
			t.Fatal(err)
		}
		if err := v.Set("guestinfo.userdata", "a\"b|c\n"); err != nil {
			t.Fatal(err)
		}
		got := v.String()
		if !strings.Contains(got, "\n\nmemSize = \"4096\"\nnumvcpus=4\n") {
			t.Errorf("memSize not replaced in place:\n%s", got)
		}
		if !strings.HasSuffix(got, "guestinfo.userdata = \"a|22b|7Cc|0A\"\n") {
			t.Errorf("new key not appended escaped:\n%s", got)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		v, _ := ParseVMX(text)
		v.Delete("Annotation")
		if _, ok := v.Get("annotation"); ok || strings.Contains(v.String(), "line one") {
			t.Errorf("annotation still there:\n%s", v.String())
		}
	})

	t.Run("Keys", func(t *testing.T) {
		want := []string{".encoding", "config.version", "virtualHW.version", "displayName",
			"annotation", "guestOS", "memSize", "numvcpus", "guestinfo.odd"}
		if got := v.Keys(); !reflect.DeepEqual(got, want) {
			t.Errorf("got %q\nwant %q", got, want)
		}
	})

	t.Run("ErrNotKeyValue", func(t *testing.T) {
		for _, bad := range []string{"no equals sign\n", "bad key = \"x\"\n", "=\"x\"\n"} {
			if _, err := ParseVMX(bad); err == nil {
				t.Errorf("%q: got no error", bad)
			}
		}
	})
}

func TestVMX_Set_ErrInvalidKey(t *testing.T) {
	for _, key := range []string{"", "a b", "a\nb", `a"b`, "a=b", "#x", "guestinfo.x\" = \"y"} {
		if err := (&VMX{}).Set(key, "v"); err == nil {
			t.Errorf("%q: got no error", key)
		}
	}
}

func TestVMX_NoFinalNewline(t *testing.T) {
	v, err := ParseVMX(`a = "1"`)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Set("b", "2"); err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), "a = \"1\"\nb = \"2\"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzVMXRoundTrip checks that any value under any valid key survives a
// write and a read unchanged, and that the written file is read back to the
// same text. Setting the key again, in another case, replaces the value in
// place; deleting it leaves the rest of the file as it was.
func FuzzVMXRoundTrip(f *testing.F) {
	f.Add("guestinfo.userdata", "#cloud-config\nruncmd: [\"echo hi | tee /x\"]\n")
	f.Add("displayName", `web "prod" | blue`)
	f.Add("annotation", "|22 is not a quote")
	f.Fuzz(func(t *testing.T, key, value string) {
		const base = ".encoding = \"UTF-8\"\ndisplayName = \"x\"\n"
		v, err := ParseVMX(base)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Set(key, value); err != nil {
			if vmxKeyRE.MatchString(key) {
				t.Fatalf("valid key %q refused: %v", key, err)
			}
			return
		}

		// The value reads back unchanged.
		text := v.String()
		back, err := ParseVMX(text)
		if err != nil {
			t.Fatalf("written file does not parse: %v\n%s", err, text)
		}
		if got, ok := back.Get(key); !ok || got != value {
			t.Fatalf("key %q: got %q, want %q\n%s", key, got, value, text)
		}

		// Every line stays one line, and the text is stable.
		if n := strings.Count(text, "\n"); n != len(back.Keys()) {
			t.Fatalf("%d lines for %d keys:\n%s", n, len(back.Keys()), text)
		}
		if back.String() != text {
			t.Fatalf("re-written text differs:\n%s\nvs\n%s", back.String(), text)
		}

		// Setting it again in upper case replaces it where it is.
		if err := back.Set(strings.ToUpper(key), value+"2"); err != nil {
			t.Fatalf("upper-case key %q refused: %v", strings.ToUpper(key), err)
		}
		if got, _ := back.Get(key); got != value+"2" || len(back.Keys()) != strings.Count(text, "\n") {
			t.Fatalf("key %q set again: got %q, keys %q", key, got, back.Keys())
		}

		// Deleting it gives back the file it was added to.
		back.Delete(key)
		if _, ok := back.Get(key); ok {
			t.Fatalf("key %q still set after Delete", key)
		}
		if !strings.EqualFold(key, "displayName") && !strings.EqualFold(key, ".encoding") && back.String() != base {
			t.Fatalf("after Delete got %q, want %q", back.String(), base)
		}
	})
}

// FuzzParseVMX checks that whatever a file holds, a parsed file is written
// back byte for byte, reads as its last setting of each key, and keeps
// every other key's value when one is set.
func FuzzParseVMX(f *testing.F) {
	f.Add("a = \"1\"\n# c\n\nb=2")
	f.Add("x = \"|7c|zz|\"\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		v, err := ParseVMX(text)
		if err != nil {
			return
		}
		if got := v.String(); got != text {
			t.Fatalf("got %q, want %q", got, text)
		}

		// Each key reads as its last setting in the file.
		before := map[string]string{}
		for _, k := range v.Keys() {
			got, ok := v.Get(k)
			if !ok {
				t.Fatalf("key %q listed but not set", k)
			}
			before[strings.ToLower(k)] = got
		}

		// Setting one key leaves the others as they were, in a file that
		// still parses.
		if err := v.Set("guestinfo.fuzz", text); err != nil {
			t.Fatal(err)
		}
		back, err := ParseVMX(v.String())
		if err != nil {
			t.Fatalf("file with one key set does not parse: %v\n%q", err, v.String())
		}
		for k, want := range before {
			if k == "guestinfo.fuzz" {
				continue
			}
			if got, _ := back.Get(k); got != want {
				t.Fatalf("key %q: got %q after setting another, want %q", k, got, want)
			}
		}
		if got, _ := back.Get("guestinfo.fuzz"); got != text {
			t.Fatalf("set value: got %q, want %q", got, text)
		}
	})
}
