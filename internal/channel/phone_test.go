package channel

import "testing"

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		shortCode bool
		want      string // "" means error
	}{
		{"+14155550100", false, "+14155550100"},
		{" +1 (415) 555-0100 ", false, "+14155550100"},
		{"+44 20.7183.8750", false, "+442071838750"},
		{"0049 30 1234567", false, "+49301234567"},
		{"+6834002", false, "+6834002"},
		{"+123456789012345", false, "+123456789012345"},
		{"+1234567890123456", false, ""},
		{"+012345678", false, ""},
		{"+12345", false, ""},
		{"4155550100", false, ""},
		{"4155550100", true, ""},
		{"12345", true, "12345"},
		{"12345", false, ""},
		{"1-2345", true, ""},
		{"whatsapp:+14155550100", false, ""},
		{"+1415555010+0", false, ""},
		{"", false, ""},
		{"+", false, ""},
		{"+١٤١٥٥٥٥٠١٠٠", false, ""}, // Arabic-Indic digits are not E.164
	}
	for _, tc := range tests {
		got, err := NormalizeNumber(tc.in, tc.shortCode)
		if tc.want == "" {
			if err == nil {
				t.Errorf("NormalizeNumber(%q) = %q, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeNumber(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}
