package agentui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// site is one page's embedded files with their ETags, so browsers revalidate
// instead of downloading unchanged assets again.
type site struct {
	files fs.FS
	etags map[string]string // path below the prefix -> quoted ETag
}

func newSite(embedded fs.FS, dir string) (site, error) {
	sub, err := fs.Sub(embedded, dir)
	if err != nil {
		return site{}, fmt.Errorf("agentui: %s files: %w", dir, err)
	}
	etags := map[string]string{}
	err = fs.WalkDir(sub, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[path] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	if err != nil {
		return site{}, fmt.Errorf("agentui: %s files: %w", dir, err)
	}
	etags[""] = etags["index.html"]
	return site{files: sub, etags: etags}, nil
}

// register serves the files under prefix (e.g. "/agent/") with the page
// headers, and nothing else: no directory listings.
func (s site) register(e *echo.Echo, prefix string) {
	files := http.StripPrefix(prefix, http.FileServer(http.FS(s.files)))
	e.GET(prefix+"*", func(c echo.Context) error {
		tag, ok := s.etags[strings.TrimPrefix(c.Request().URL.Path, prefix)]
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		hd := c.Response().Header()
		setPageHeaders(hd)
		hd.Set("ETag", tag)
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}
