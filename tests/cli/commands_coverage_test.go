package cli_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// cliGroups are the command groups of the `temporal` CLI that talk to a
// server and that tests/cli must cover command by command.
var cliGroups = []string{"workflow", "activity", "batch", "schedule", "task-queue", "operator", "worker"}

// localCommands work without a server and are left out.
var localCommands = map[string]bool{"workflow fix-history-json": true}

// serverCommands lists every leaf command of the groups, as the pinned
// CLI's help shows them (a command with subcommands that also runs on its
// own, such as `workflow reset`, counts as one too).
func serverCommands(t *testing.T, bin string) []string {
	t.Helper()
	var out []string
	var walk func(path []string)
	walk = func(path []string) {
		help, err := exec.Command(bin, append(path, "--help")...).Output()
		if err != nil {
			t.Fatalf("temporal %s --help: %v", strings.Join(path, " "), err)
		}
		subs := helpSubcommands(string(help))
		runnable := len(subs) == 0 || strings.Contains(string(help), "temporal "+strings.Join(path, " ")+" [flags]")
		if runnable && len(path) > 1 && !localCommands[strings.Join(path, " ")] {
			out = append(out, strings.Join(path, " "))
		}
		for _, s := range subs {
			walk(append(append([]string(nil), path...), s))
		}
	}
	for _, g := range cliGroups {
		walk([]string{g})
	}
	sort.Strings(out)
	return out
}

// helpSubcommands reads the "Available Commands:" block of a help text.
func helpSubcommands(help string) []string {
	var subs []string
	in := false
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(line, "Available Commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			if f := strings.Fields(line); len(f) > 0 && f[0] != "help" && f[0] != "completion" {
				subs = append(subs, f[0])
			}
		}
	}
	return subs
}

// literalRuns returns, for every call and composite literal in the Go
// files of tests/cli, the sequence of its string literal arguments or
// elements, joined by spaces (the commands the tests run).
func literalRuns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), "tests", "cli", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "commands_coverage_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			var exprs []ast.Expr
			switch x := n.(type) {
			case *ast.CallExpr:
				exprs = x.Args
			case *ast.CompositeLit:
				exprs = x.Elts
			default:
				return true
			}
			// A literal with a space in it (a description, a query) is not
			// a command word: it ends the run.
			var words []string
			flush := func() {
				if len(words) > 0 {
					runs = append(runs, " "+strings.Join(words, " ")+" ")
				}
				words = nil
			}
			for _, e := range exprs {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || strings.ContainsAny(s, " \t\n") {
					flush()
					continue
				}
				words = append(words, s)
			}
			flush()
			return true
		})
	}
	return runs
}

// TestCLICommandsCovered: every server-facing command of the pinned CLI's
// workflow, activity, batch, schedule, task-queue, operator and worker
// (worker heartbeats and worker deployments) groups is
// run by some test of tests/cli (or is a documented command TestCLI runs),
// and has a row in docs/COMPATIBILITY.md's CLI table.
func TestCLICommandsCovered(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	cmds := serverCommands(t, absFromRoot(bin))
	if len(cmds) < 70 {
		t.Fatalf("only %d commands found in the CLI's help; the help format changed?", len(cmds))
	}
	runs := literalRuns(t)
	var docs strings.Builder
	for _, f := range docFiles {
		b, err := os.ReadFile(absFromRoot(f))
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	compat, err := os.ReadFile(absFromRoot("docs/COMPATIBILITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range cmds {
		covered := regexp.MustCompile(`temporal ` + regexp.QuoteMeta(cmd) + `\b`).MatchString(docs.String())
		for _, r := range runs {
			if strings.Contains(r, " "+cmd+" ") {
				covered = true
				break
			}
		}
		if !covered {
			t.Errorf("temporal %s: no test in tests/cli runs it", cmd)
		}
		if !strings.Contains(string(compat), "| `temporal "+cmd+"` |") {
			t.Errorf("temporal %s: no row in docs/COMPATIBILITY.md's CLI table", cmd)
		}
	}
	t.Logf("%d server-facing commands, all run by tests/cli", len(cmds))
}
