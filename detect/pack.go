package detect

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

//go:embed rules/*.yaml
var builtinFS embed.FS

// Builtin returns the embedded rule pack, sorted by id. The pack is checked
// by the package's tests, so an error here means a broken build.
func Builtin() ([]*Rule, error) {
	rules, err := loadFS(builtinFS, "rules", "builtin:")
	for _, r := range rules {
		r.Builtin = true
	}
	return rules, err
}

// LoadDir reads every *.yaml and *.yml file of dir (not recursive) as one
// rule each. It returns every problem of every file (Errors).
func LoadDir(dir string) ([]*Rule, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	if !st.IsDir() {
		// A single file is accepted too.
		b, err := os.ReadFile(dir)
		if err != nil {
			return nil, fmt.Errorf("read rules: %w", err)
		}
		r, err := ParseRule(dir, b)
		if err != nil {
			return nil, err
		}
		return []*Rule{r}, nil
	}
	return loadFS(os.DirFS(dir), ".", dir+string(filepath.Separator))
}

func loadFS(fsys fs.FS, dir, prefix string) ([]*Rule, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read rules %s: %w", strings.TrimSuffix(prefix, string(filepath.Separator)), err)
	}
	var rules []*Rule
	var errs Errors
	ids := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		b, err := fs.ReadFile(fsys, pathJoin(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read rule %s%s: %w", prefix, name, err)
		}
		r, err := ParseRule(prefix+name, b)
		var es Errors
		if errors.As(err, &es) {
			errs = append(errs, es...)
			continue
		} else if err != nil {
			return nil, err
		}
		if other, dup := ids[r.ID]; dup {
			p := r.colPos["id"]
			errs = append(errs, &Error{File: r.File, Line: p.line, Col: p.col, Msg: fmt.Sprintf("rule id %q is already used by %s", r.ID, other)})
			continue
		}
		ids[r.ID] = r.File
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, errs.err()
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// Compose builds the rule set a run uses: the built-in pack, then each user
// folder in order, a user rule replacing a built-in (or earlier) rule with the
// same id, then the ids in disable turned off. An id in disable that no rule
// has is an error, since it is most likely a typo.
func Compose(builtin []*Rule, user [][]*Rule, disable []string) ([]*Rule, error) {
	byID := map[string]int{}
	var out []*Rule
	add := func(r *Rule) {
		if i, ok := byID[r.ID]; ok {
			out[i] = r
			return
		}
		byID[r.ID] = len(out)
		out = append(out, r)
	}
	for _, r := range builtin {
		add(r)
	}
	for _, rs := range user {
		for _, r := range rs {
			add(r)
		}
	}
	for _, id := range disable {
		i, ok := byID[id]
		if !ok {
			ids := make([]string, 0, len(out))
			for _, r := range out {
				ids = append(ids, r.ID)
			}
			slices.Sort(ids)
			return nil, fmt.Errorf("disable: no rule has id %q (rules: %s)", id, strings.Join(ids, ", "))
		}
		c := *out[i]
		c.Enabled = false
		out[i] = &c
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
