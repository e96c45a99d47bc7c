package webchat

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

func TestTokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tk, err := NewTokens(testSecret, 24*time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	visitor := NewVisitorID()
	good, err := tk.Sign(visitor)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewTokens([]byte("another secret that is long enough!!"), 24*time.Hour, clock)
	foreign, _ := other.Sign(visitor)
	later := func(d time.Duration) *Tokens {
		tk2, _ := NewTokens(testSecret, 24*time.Hour, func() time.Time { return now.Add(d) })
		return tk2
	}
	parts := strings.Split(good, ".")
	swapVisitor := strings.Join([]string{parts[0], NewVisitorID(), parts[2], parts[3]}, ".")
	backdated := strings.Join([]string{parts[0], parts[1], "1", parts[3]}, ".")
	flipped := good[:len(good)-1] + "A"
	if strings.HasSuffix(good, "A") {
		flipped = good[:len(good)-1] + "B"
	}

	cases := []struct {
		desc    string
		tokens  *Tokens
		token   string
		want    string
		wantErr error
	}{
		{desc: "fresh token", tokens: tk, token: good, want: visitor},
		{desc: "within max age", tokens: later(23 * time.Hour), token: good, want: visitor},
		{desc: "expired", tokens: later(25 * time.Hour), token: good, wantErr: ErrTokenExpired},
		{desc: "issued in the future beyond skew", tokens: later(-time.Hour), token: good, wantErr: ErrTokenInvalid},
		{desc: "issued slightly in the future", tokens: later(-time.Minute), token: good, want: visitor},
		{desc: "other secret", tokens: tk, token: foreign, wantErr: ErrTokenInvalid},
		{desc: "visitor swapped", tokens: tk, token: swapVisitor, wantErr: ErrTokenInvalid},
		{desc: "issued-at changed", tokens: tk, token: backdated, wantErr: ErrTokenInvalid},
		{desc: "signature changed", tokens: tk, token: flipped, wantErr: ErrTokenInvalid},
		{desc: "empty", tokens: tk, token: "", wantErr: ErrTokenInvalid},
		{desc: "no signature", tokens: tk, token: parts[0] + "." + parts[1] + "." + parts[2], wantErr: ErrTokenInvalid},
		{desc: "huge", tokens: tk, token: strings.Repeat("a", 10000), wantErr: ErrTokenInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, err := tc.tokens.Verify(tc.token)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify: err %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("Verify: visitor %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTokensRefuseShortSecretAndBadVisitor(t *testing.T) {
	t.Parallel()
	if _, err := NewTokens([]byte("short"), time.Hour, nil); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
	tk, err := NewTokens(testSecret, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "v_", "x_abc", "v_ABC", "v_a.b", "v_a:b"} {
		if _, err := tk.Sign(id); err == nil {
			t.Errorf("Sign(%q) succeeded", id)
		}
	}
	if id := NewVisitorID(); !validVisitorID(id) {
		t.Fatalf("NewVisitorID made %q, which is not valid", id)
	}
}

// An upload id names its file for one visitor and one conversation only;
// a download link opens one file of one conversation until it expires.
func TestFileCapabilities(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tk, err := NewTokens(testSecret, time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	const key = "2026/12/abcdefghijklmnop-photo.png"
	id := tk.uploadID("v_a", "cv_1", key, 240)
	if k, n, ok := tk.uploadKey("v_a", "cv_1", id); !ok || k != key || n != 240 {
		t.Fatalf("own upload id: %q %d %v", k, n, ok)
	}
	sig, _, _ := strings.Cut(id, ":")
	for desc, tc := range map[string][3]string{
		"another visitor":      {"v_b", "cv_1", id},
		"another conversation": {"v_a", "cv_2", id},
		"another size":         {"v_a", "cv_1", sig + ":1:" + key},
		"another key":          {"v_a", "cv_1", sig + ":240:2026/12/abcdefghijklmnop-other.png"},
		"no size":              {"v_a", "cv_1", sig + ":" + key},
		"garbage":              {"v_a", "cv_1", "::"},
	} {
		if _, _, ok := tk.uploadKey(tc[0], tc[1], tc[2]); ok {
			t.Errorf("%s: accepted", desc)
		}
	}
	q, _ := url.ParseQuery(tk.fileQuery("cv_1", key))
	if k, err := tk.checkFile(q); err != nil || k != key {
		t.Fatalf("own link: %q %v", k, err)
	}
	moved := url.Values{"c": {"cv_2"}, "k": q["k"], "e": q["e"], "s": q["s"]}
	if _, err := tk.checkFile(moved); !errors.Is(err, errLinkInvalid) {
		t.Errorf("link moved to another conversation: %v", err)
	}
	now = now.Add(fileLinkLife + 2*time.Hour)
	if _, err := tk.checkFile(q); !errors.Is(err, errLinkExpired) {
		t.Errorf("old link: %v", err)
	}
}
