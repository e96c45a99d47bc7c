package routing

import (
	"regexp"
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

// Every name the library defines at its top level (a function or a
// variable) that a script's text uses is defined in that text: a function
// the trimming cut, or code it swallowed into a function it dropped,
// would only fail when Redis runs that line.
func TestEveryScriptDefinesTheLibraryNamesItUses(t *testing.T) {
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		t.Fatal(err)
	}
	defined := regexp.MustCompile(`(?m)^local (?:function )?([A-Za-z_][A-Za-z0-9_]*)`)
	var libNames []string
	for _, m := range defined.FindAllStringSubmatch(string(lib), -1) {
		libNames = append(libNames, m[1])
	}
	if len(libNames) < 40 {
		t.Fatalf("found %d names in lib.lua, want the 42 functions and more", len(libNames))
	}
	files, err := luaFiles.ReadDir("lua")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if f.Name() == "lib.lua" {
			continue
		}
		body, err := luaFiles.ReadFile("lua/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		trimmed := libFor(string(lib), string(body))
		code := luaComment.ReplaceAllString(trimmed+"\n"+string(body), "")
		have := map[string]bool{}
		for _, m := range defined.FindAllStringSubmatch(trimmed, -1) {
			have[m[1]] = true
		}
		for _, n := range libNames {
			if names(code, n) && !have[n] {
				t.Errorf("%s uses %s, which its text does not define", f.Name(), n)
			}
		}
		checked++
	}
	if checked < 17 {
		t.Errorf("checked %d scripts, want all 17", checked)
	}
}

// A function line with a comment after its end is still one line, and a
// function that never ends is refused when the scripts are built, not
// when Redis runs them.
func TestLibForReadsCommentsAfterEnd(t *testing.T) {
	lib := "local function one(x) return x end -- one line\nlocal Q = {}\nlocal function two(x)\n  return Q\nend -- two\nlocal R = 1\n"
	got := libFor(lib, "return two(1)")
	if !strings.Contains(got, "local Q = {}") || !strings.Contains(got, "local R = 1") || strings.Contains(got, "function one") {
		t.Errorf("trimmed library:\n%s", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("a function without its end was accepted")
		}
	}()
	libFor("local function three(x)\n  return x\n", "three(1)")
}
