package conversation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// StoreAttachment copies r into the attachment directory, refusing files
// over MaxAttachmentBytes (ErrTooLarge; the partial file is removed). The
// returned Attachment's StoredPath is relative to the directory; agents
// fetch it through the API's authenticated attachment route.
func (s *Service) StoreAttachment(ctx context.Context, name, contentType string, r io.Reader) (Attachment, error) {
	if err := ctx.Err(); err != nil {
		return Attachment{}, err
	}
	now := s.now().UTC()
	rel := filepath.Join(now.Format("2006"), now.Format("01"), strings.TrimPrefix(newID("a_"), "a_")+"-"+safeName(name))
	full := filepath.Join(s.attDir, rel)
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		return Attachment{}, fmt.Errorf("conversation: store attachment: %w", err)
	}
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return Attachment{}, fmt.Errorf("conversation: store attachment: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, s.maxFile+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > s.maxFile {
		err = fmt.Errorf("attachment over %d bytes: %w", s.maxFile, ErrTooLarge)
	}
	if err != nil {
		_ = os.Remove(full)
		return Attachment{}, fmt.Errorf("conversation: store attachment %q: %w", name, err)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return Attachment{Name: name, ContentType: contentType, Size: n, StoredPath: filepath.ToSlash(rel)}, nil
}

// OpenAttachment opens a stored attachment by its StoredPath. Paths that
// leave the attachment directory are refused as not found.
func (s *Service) OpenAttachment(storedPath string) (*os.File, error) {
	if !filepath.IsLocal(filepath.FromSlash(storedPath)) {
		return nil, fmt.Errorf("conversation: attachment %q: %w", storedPath, ErrNotFound)
	}
	f, err := os.Open(filepath.Join(s.attDir, filepath.FromSlash(storedPath)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("conversation: attachment %q: %w", storedPath, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("conversation: attachment %q: %w", storedPath, err)
	}
	return f, nil
}

// checkAttachments verifies that stored attachments exist and that the
// message stays within MaxMessageAttachmentBytes. Sizes come from the files,
// not from what the caller claims.
func (s *Service) checkAttachments(atts []Attachment) error {
	var total int64
	for i := range atts {
		a := &atts[i]
		if a.StoredPath == "" {
			if a.URL == "" {
				return &FieldError{Field: "attachments", Reason: "an attachment needs a stored path or a URL"}
			}
			total += a.Size
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(a.StoredPath)) {
			return &FieldError{Field: "attachments", Reason: "stored path outside the attachment directory"}
		}
		fi, err := os.Stat(filepath.Join(s.attDir, filepath.FromSlash(a.StoredPath)))
		if err != nil {
			return &FieldError{Field: "attachments", Reason: "stored attachment not found: " + a.StoredPath}
		}
		a.Size = fi.Size()
		total += a.Size
	}
	if total > s.maxMsg {
		return fmt.Errorf("attachments total %d bytes, limit %d: %w", total, s.maxMsg, ErrTooLarge)
	}
	return nil
}

// safeName keeps a file name readable but harmless on disk: no separators,
// only ASCII letters, digits and .-_, at most 100 bytes.
func safeName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	b := strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
	if len(b) > 100 {
		b = b[len(b)-100:]
	}
	if b == "" || b == "." || b == ".." {
		b = "file"
	}
	return b
}
