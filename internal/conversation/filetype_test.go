package conversation

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckUpload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, name string
		head       string
		want       string // content type; "" for refused
	}{
		{"png", "a.png", "\x89PNG\r\n\x1a\n....", "image/png"},
		{"jpeg, upper-case extension", "IMG_1.JPG", "\xff\xd8\xff\xe0", "image/jpeg"},
		{"gif", "x.gif", "GIF89a", "image/gif"},
		{"webp", "x.webp", "RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"pdf", "r.pdf", "%PDF-1.7", "application/pdf"},
		{"docx is a zip", "c.docx", "PK\x03\x04", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"old word", "c.doc", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"},
		{"text", "notes.txt", "héllo", "text/plain; charset=utf-8"},
		{"text cut inside a character", "notes.txt", "h\xc3", "text/plain; charset=utf-8"},
		{"csv", "t.csv", "a,b\n1,2\n", "text/csv; charset=utf-8"},
		{"svg can carry script", "i.svg", "<svg onload=alert(1)>", ""},
		{"html", "p.html", "<html>", ""},
		{"no extension", "README", "text", ""},
		{"pdf that is not", "r.pdf", "MZ\x90", ""},
		{"png that is a pdf", "a.png", "%PDF-1.4", ""},
		{"binary text", "n.txt", "a\x00b", ""},
		{"empty", "r.pdf", "", ""},
		{"path in the name", "../../r.exe", "MZ", ""},
	} {
		ft, err := checkUpload(tc.name, []byte(tc.head))
		if tc.want == "" {
			if !errors.Is(err, ErrUnsupportedType) {
				t.Errorf("%s: %v, want ErrUnsupportedType", tc.desc, err)
			}
			continue
		}
		if err != nil || ft.ContentType != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.desc, ft.ContentType, err, tc.want)
		}
	}
}

func TestAcceptListAndFileName(t *testing.T) {
	t.Parallel()
	acc := AcceptList()
	for _, ext := range []string{".png", ".jpg", ".pdf", ".docx"} {
		if !strings.Contains(acc, ext) {
			t.Errorf("accept list %q lacks %s", acc, ext)
		}
	}
	if strings.Contains(acc, ".svg") || strings.Contains(acc, ".html") {
		t.Errorf("accept list %q allows script", acc)
	}
	for key, want := range map[string]string{
		"2026/12/abcdefghijklmnop-receipt-2.pdf": "receipt-2.pdf",
		"2026/12/abcdefghijklmnop-":              "abcdefghijklmnop-",
		"weird":                                  "weird",
	} {
		if got := FileName(key); got != want {
			t.Errorf("FileName(%q) = %q, want %q", key, got, want)
		}
	}
}
