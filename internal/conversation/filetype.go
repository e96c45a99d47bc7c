package conversation

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/channel"
)

// ErrUnsupportedType means a file people uploaded is not of a kind the
// service accepts (FileTypes), or its contents are not what its name says.
var ErrUnsupportedType = errors.New("file type not accepted")

// TypeError is an upload refused for its type; Reason says why in words
// the person who uploaded it can act on. errors.Is(err, ErrUnsupportedType)
// holds for it.
type TypeError struct {
	Reason string
}

func (e *TypeError) Error() string { return e.Reason + ": " + ErrUnsupportedType.Error() }

// Is makes errors.Is(err, ErrUnsupportedType) hold.
func (e *TypeError) Is(target error) bool { return target == ErrUnsupportedType }

// FileType is one kind of file people may upload: agents from the console
// and visitors from the chat widget, through the one allow-list below.
// Inbound provider media (MMS, mail) is not held to it: the customer chose
// those files elsewhere, and we only ever serve them as downloads.
type FileType struct {
	// Ext are the file name extensions, lower case, with the dot.
	Ext []string
	// ContentType is what the file is stored and served as, whatever the
	// uploader claimed.
	ContentType string
	// Image files may be shown inline (a preview); every other type is
	// only ever served as a download.
	Image bool
	// magic says whether the first bytes fit the type.
	magic func(head []byte) bool
}

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
)

func prefix(p ...[]byte) func([]byte) bool {
	return func(head []byte) bool {
		for _, m := range p {
			if bytes.HasPrefix(head, m) {
				return true
			}
		}
		return false
	}
}

// plainText is text without NUL bytes that is valid UTF-8 (the head may
// end inside a character).
func plainText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	return utf8.Valid(head)
}

func webp(head []byte) bool {
	return len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP"
}

// fileTypes is the allow-list: images, PDF and common office documents.
// SVG and HTML are left out on purpose: both can carry script.
var fileTypes = []FileType{
	{Ext: []string{".png"}, ContentType: "image/png", Image: true, magic: prefix([]byte("\x89PNG\r\n\x1a\n"))},
	{Ext: []string{".jpg", ".jpeg"}, ContentType: "image/jpeg", Image: true, magic: prefix([]byte("\xff\xd8\xff"))},
	{Ext: []string{".gif"}, ContentType: "image/gif", Image: true, magic: prefix([]byte("GIF87a"), []byte("GIF89a"))},
	{Ext: []string{".webp"}, ContentType: "image/webp", Image: true, magic: webp},
	{Ext: []string{".pdf"}, ContentType: "application/pdf", magic: prefix([]byte("%PDF-"))},
	{Ext: []string{".txt"}, ContentType: "text/plain; charset=utf-8", magic: plainText},
	{Ext: []string{".csv"}, ContentType: "text/csv; charset=utf-8", magic: plainText},
	{Ext: []string{".docx"}, ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", magic: prefix(zipMagic)},
	{Ext: []string{".xlsx"}, ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", magic: prefix(zipMagic)},
	{Ext: []string{".pptx"}, ContentType: "application/vnd.openxmlformats-officedocument.presentationml.presentation", magic: prefix(zipMagic)},
	{Ext: []string{".odt"}, ContentType: "application/vnd.oasis.opendocument.text", magic: prefix(zipMagic)},
	{Ext: []string{".ods"}, ContentType: "application/vnd.oasis.opendocument.spreadsheet", magic: prefix(zipMagic)},
	{Ext: []string{".doc"}, ContentType: "application/msword", magic: prefix(oleMagic)},
	{Ext: []string{".xls"}, ContentType: "application/vnd.ms-excel", magic: prefix(oleMagic)},
	{Ext: []string{".ppt"}, ContentType: "application/vnd.ms-powerpoint", magic: prefix(oleMagic)},
}

// AcceptList is the allow-list as an HTML file input's accept attribute:
// ".png,.jpg,…", so a file picker offers only what will be taken.
func AcceptList() string {
	var exts []string
	for _, t := range fileTypes {
		exts = append(exts, t.Ext...)
	}
	return strings.Join(exts, ",")
}

// FileTypeOf is the allow-listed type of a file named name, by its
// extension; false when none fits. Stored keys end in the sanitised name,
// so it also tells how to serve a stored file.
func FileTypeOf(name string) (FileType, bool) {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, "\\", "/")))
	for _, t := range fileTypes {
		for _, e := range t.Ext {
			if e == ext {
				return t, true
			}
		}
	}
	return FileType{}, false
}

// sniffLen is how much of a file is read before it is taken.
const sniffLen = 512

// checkUpload returns the type of an upload named name whose first bytes
// are head, or a *TypeError that says why not.
func checkUpload(name string, head []byte) (FileType, error) {
	t, ok := FileTypeOf(name)
	if !ok {
		return FileType{}, &TypeError{Reason: "only images (PNG, JPEG, GIF, WebP), PDF, text and office documents can be attached"}
	}
	if len(head) == 0 {
		return FileType{}, &TypeError{Reason: safeName(name) + " is empty"}
	}
	if !t.magic(head) {
		return FileType{}, &TypeError{Reason: safeName(name) + " is not the " + strings.ToUpper(strings.TrimPrefix(t.Ext[0], ".")) + " file its name says"}
	}
	return t, nil
}

// StoreUpload stores a file a person uploaded (an agent in the console, a
// visitor in the chat widget): it must be of an allow-listed type
// (FileTypes) whose first bytes fit its name, else ErrUnsupportedType, and
// within MaxAttachmentBytes, else ErrTooLarge; nothing is kept then. The
// stored content type is the allow-list's, never the uploader's claim, and
// the name is sanitised.
func (s *Service) StoreUpload(ctx context.Context, name string, r io.Reader) (channel.Attachment, error) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return channel.Attachment{}, fmt.Errorf("conversation: upload %q: %w", safeName(name), err)
	}
	t, err := checkUpload(name, head)
	if err != nil {
		return channel.Attachment{}, fmt.Errorf("conversation: upload %w", err)
	}
	return s.StoreAttachment(ctx, safeName(name), t.ContentType, br)
}
