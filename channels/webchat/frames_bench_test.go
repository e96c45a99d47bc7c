package webchat

import "testing"

// go test -run XXX -bench ClientFrame ./channels/webchat
func BenchmarkClientFrame(b *testing.B) {
	frame := []byte(`{"type":"message","id":"f_12345678","text":"my order 4411 has not arrived yet, can you check?"}`)
	for _, c := range []struct {
		name   string
		decode func([]byte) (clientFrame, error)
	}{{"read", decodeClientFrame}, {"encoding-json", decodeClientFrameJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
