package httpserver

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Every request body is capped. The server applies DefaultBodyLimit to
// every route; a route that needs another cap (an upload takes megabytes, a
// login a few hundred bytes) names it with BodyLimit on its own
// registration. The default cannot be a plain echo BodyLimit middleware:
// global middleware wraps the body before the route's middleware runs, so
// a route could only ever lower the cap, never raise it (issue 11 item 4:
// 10 MiB attachments were refused at 1 MB).

// DefaultBodyLimit caps request bodies, in bytes, for routes that set no
// limit of their own.
const DefaultBodyLimit = 1 << 20

// BodyLimit is route middleware that sets the cap of that route's request
// body to n bytes, above or below DefaultBodyLimit. A body past the cap
// reads as an *http.MaxBytesError, which the server answers with 413. It
// also works on an echo instance built without this package: there it
// wraps the body itself.
func BodyLimit(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if lb, ok := r.Body.(*limitedBody); ok {
				lb.limit = n
			} else if r.Body != nil {
				r.Body = &limitedBody{r: r.Body, req: r, limit: n}
			}
			return next(c)
		}
	}
}

// defaultBodyLimit is the server-wide middleware: it wraps every body in a
// limitedBody whose cap a route's BodyLimit may still change, since nothing
// is read before the handler runs.
func defaultBodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &limitedBody{r: r.Body, req: r, limit: DefaultBodyLimit}
		}
		return next(c)
	}
}

// limitedBody reads at most limit bytes; a declared Content-Length over the
// limit fails the first read, so nothing of an oversized upload is stored.
type limitedBody struct {
	r     io.ReadCloser
	req   *http.Request
	limit int64
	read  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.read == 0 && b.req.ContentLength > b.limit {
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if b.read >= b.limit {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, &http.MaxBytesError{Limit: b.limit}
		}
		return 0, io.EOF
	}
	if rest := b.limit - b.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }
