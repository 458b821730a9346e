"""scripts/check-size.py fails on a file or a function past its limit, counts what a reader
reads (not string contents or comments), and passes on the real tree."""
import os
import tempfile
import unittest

from source_tree import ROOT, run_check, write


def run(src):
    return run_check("check-size.py", src)


def function(name, body_lines):
    return f"int {name}(int x) {{\n" + "  x += 1;\n" * body_lines + "  return x;\n}\n"


class CheckSizeTest(unittest.TestCase):

    def test_the_source_tree_is_within_the_limits(self):
        result = run(os.path.join(ROOT, "src"))
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)

    def test_a_long_function_fails_and_is_named(self):
        with tempfile.TemporaryDirectory() as src:
            write(src, "core/a.cc", function("Short", 100) + function("Long", 130))
            result = run(src)
            self.assertEqual(1, result.returncode, result.stdout)
            self.assertIn("core/a.cc:104: Long is 133 lines", result.stderr)
            self.assertNotIn("Short", result.stderr)

    def test_a_long_file_fails(self):
        with tempfile.TemporaryDirectory() as src:
            write(src, "core/b.cc", "".join(function(f"F{i}", 10) for i in range(70)))
            result = run(src)
            self.assertEqual(1, result.returncode, result.stdout)
            self.assertIn("core/b.cc: 910 lines (at most 800)", result.stderr)

    def test_braces_in_strings_comments_and_raw_strings_do_not_count(self):
        with tempfile.TemporaryDirectory() as src:
            tricky = ('int F() {\n  const char* a = "}}}";\n  // }\n  auto b = R"x(})x";\n'
                      "  char c = '}';\n  return 0;\n}\n")
            write(src, "core/c.cc", tricky + function("Long", 130))
            result = run(src)
            self.assertIn("core/c.cc:8: Long is 133 lines", result.stderr)


if __name__ == "__main__":
    unittest.main()
