package conversation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/switchboard/switchboard/internal/channel"
)

// AttachmentStore keeps attachment files under keys the Service chooses
// (never guessable: each carries 128 random bits). DirStore, a local
// directory, is the default; package s3store keeps them in an
// S3-compatible bucket, so that every gateway serves every attachment.
type AttachmentStore interface {
	// Put stores what r holds under key. When r holds more than limit
	// bytes it returns ErrTooLarge and keeps nothing.
	Put(ctx context.Context, key, contentType string, r io.Reader, limit int64) (size int64, err error)
	// Open returns the file to read and its size and time; ErrNotFound
	// when there is none.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, AttachmentInfo, error)
	// Stat returns what Open would, without opening; ErrNotFound likewise.
	Stat(ctx context.Context, key string) (AttachmentInfo, error)
}

// AttachmentInfo describes a stored attachment.
type AttachmentInfo struct {
	Size    int64
	ModTime time.Time
}

// DirStore is an AttachmentStore in a local directory: the embedded
// default, fine for one gateway or a shared volume.
type DirStore struct {
	// Dir is the directory; it is created as needed.
	Dir string
}

// Put implements AttachmentStore.
func (d DirStore) Put(ctx context.Context, key, _ string, r io.Reader, limit int64) (int64, error) {
	full, err := d.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		return 0, fmt.Errorf("attachment dir: %w", err)
	}
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, fmt.Errorf("attachment file: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = fmt.Errorf("attachment over %d bytes: %w", limit, ErrTooLarge)
	}
	if err != nil {
		_ = os.Remove(full)
		return 0, err
	}
	return n, nil
}

// Open implements AttachmentStore.
func (d DirStore) Open(_ context.Context, key string) (io.ReadSeekCloser, AttachmentInfo, error) {
	full, err := d.path(key)
	if err != nil {
		return nil, AttachmentInfo{}, err
	}
	f, err := os.Open(full)
	if errors.Is(err, os.ErrNotExist) {
		return nil, AttachmentInfo{}, ErrNotFound
	}
	if err != nil {
		return nil, AttachmentInfo{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, AttachmentInfo{}, err
	}
	return f, AttachmentInfo{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Stat implements AttachmentStore.
func (d DirStore) Stat(_ context.Context, key string) (AttachmentInfo, error) {
	full, err := d.path(key)
	if err != nil {
		return AttachmentInfo{}, err
	}
	fi, err := os.Stat(full)
	if errors.Is(err, os.ErrNotExist) {
		return AttachmentInfo{}, ErrNotFound
	}
	if err != nil {
		return AttachmentInfo{}, err
	}
	return AttachmentInfo{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// path refuses keys that would leave the directory, as not found.
func (d DirStore) path(key string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return "", ErrNotFound
	}
	return filepath.Join(d.Dir, filepath.FromSlash(key)), nil
}

// validKey is what the Service accepts as a StoredPath: a relative path
// that stays within the store, as attachmentKey makes them.
func validKey(key string) bool { return key != "" && filepath.IsLocal(filepath.FromSlash(key)) }

// attachmentKey is "yyyy/mm/<26 base32 characters>-<safe name>": sorted by
// month for whoever cleans up, and not guessable (130 random bits).
func attachmentKey(now time.Time, name string) string {
	return now.Format("2006") + "/" + now.Format("01") + "/" + strings.ToLower(rand.Text()) + "-" + safeName(name)
}

// StoreAttachment copies r into the attachment store, refusing files over
// MaxAttachmentBytes (ErrTooLarge; nothing is kept). The returned
// Attachment's StoredPath is its key in the store; agents fetch it through
// the API's authenticated attachment route, on any gateway.
func (s *Service) StoreAttachment(ctx context.Context, name, contentType string, r io.Reader) (channel.Attachment, error) {
	if err := ctx.Err(); err != nil {
		return channel.Attachment{}, err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	key := attachmentKey(s.now().UTC(), name)
	n, err := s.att.Put(ctx, key, contentType, r, s.maxFile)
	if err != nil {
		return channel.Attachment{}, fmt.Errorf("conversation: store attachment %q: %w", name, err)
	}
	return channel.Attachment{Name: name, ContentType: contentType, Size: n, StoredPath: key}, nil
}

// OpenAttachment opens a stored attachment by its StoredPath. Paths that
// leave the store are refused as not found. The caller closes it.
func (s *Service) OpenAttachment(ctx context.Context, storedPath string) (io.ReadSeekCloser, AttachmentInfo, error) {
	if !validKey(storedPath) {
		return nil, AttachmentInfo{}, fmt.Errorf("conversation: attachment %q: %w", storedPath, ErrNotFound)
	}
	f, info, err := s.att.Open(ctx, storedPath)
	if err != nil {
		return nil, AttachmentInfo{}, fmt.Errorf("conversation: attachment %q: %w", storedPath, err)
	}
	return f, info, nil
}

// checkAttachments verifies that stored attachments exist and that the
// message stays within MaxMessageAttachmentBytes. Sizes come from the store,
// not from what the caller claims.
func (s *Service) checkAttachments(ctx context.Context, atts []channel.Attachment) error {
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
		if !validKey(a.StoredPath) {
			return &FieldError{Field: "attachments", Reason: "stored path outside the attachment store"}
		}
		info, err := s.att.Stat(ctx, a.StoredPath)
		if errors.Is(err, ErrNotFound) {
			return &FieldError{Field: "attachments", Reason: "stored attachment not found: " + a.StoredPath}
		}
		if err != nil {
			return fmt.Errorf("conversation: attachment %q: %w", a.StoredPath, err)
		}
		a.Size = info.Size
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

// FileName is the sanitised file name a stored key ends in (attachmentKey:
// the part after the random id), offered to whoever downloads it.
func FileName(key string) string {
	base := path.Base(key)
	if _, name, ok := strings.Cut(base, "-"); ok && name != "" {
		return name
	}
	return safeName(base)
}
