"""scripts/check-layers.py fails on an include that breaks the layer table and passes on the
real tree."""
import os
import tempfile
import unittest

from source_tree import ROOT, run_check, write


def run(src):
    return run_check("check-layers.py", src)


class CheckLayersTest(unittest.TestCase):

    def test_the_source_tree_follows_the_table(self):
        result = run(os.path.join(ROOT, "src"))
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)

    def test_an_include_up_the_layers_fails(self):
        with tempfile.TemporaryDirectory() as src:
            write(src, "store/store.h", "#pragma once\n")
            write(src, "core/request_context.h", '#pragma once\n#include "store/store.h"\n')
            result = run(src)
            self.assertEqual(1, result.returncode, result.stdout)
            self.assertIn("core/request_context.h:2: core may not include store/store.h",
                          result.stderr)

    def test_tests_may_include_anything(self):
        with tempfile.TemporaryDirectory() as src:
            write(src, "store/store.h", "#pragma once\n")
            write(src, "core/clock_test.cc", '#include "store/store.h"\n')
            result = run(src)
            self.assertNotIn("clock_test.cc", result.stderr)


if __name__ == "__main__":
    unittest.main()
