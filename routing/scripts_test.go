package routing

import (
	"strings"
	"testing"
)

// A script gets the library functions it calls and those they call, in
// the library's order, and everything of the library that is not a
// function; a function only a comment names is left out.
func TestLibForKeepsWhatTheScriptUses(t *testing.T) {
	lib := `local P = KEYS[1]
-- one() is named here, in a comment only
local function one(x) return x + 1 end
local function two(x)
  return one(x) * 2
end
local T = {}
local function three(x)
  -- two() again, in a comment
  return x
end
local function four(x)
  return three(x) .. P
end
`
	for _, tc := range []struct {
		body string
		want []string
		not  []string
	}{
		{body: "return two(1)", want: []string{"local P", "function one", "function two", "local T"}, not: []string{"function three", "function four"}},
		{body: "return four('a')", want: []string{"function three", "function four"}, not: []string{"function one", "function two"}},
		{body: "local twofold = 2 -- four()", not: []string{"function one", "function two", "function three", "function four"}},
	} {
		got := libFor(lib, tc.body)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: %q missing from\n%s", tc.body, w, got)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("%q: %q kept in\n%s", tc.body, n, got)
			}
		}
		if i, j := strings.Index(got, "local P"), strings.Index(got, "local T"); i < 0 || j < i {
			t.Errorf("%q: the library's order changed:\n%s", tc.body, got)
		}
	}
}

// The accept script, the one every accepted conversation runs, carries a
// fraction of the library's functions.
func TestAcceptCarriesPartOfTheLibrary(t *testing.T) {
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		t.Fatal(err)
	}
	body, err := luaFiles.ReadFile("lua/accept.lua")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Count(string(lib), "\nlocal function ")
	kept := strings.Count(libFor(string(lib), string(body)), "\nlocal function ")
	if kept == 0 || kept > all/2 {
		t.Errorf("accept keeps %d of the library's %d functions, want at most half", kept, all)
	}
}
