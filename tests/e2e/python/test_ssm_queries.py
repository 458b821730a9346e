"""End-to-end tests of coffer's SSM GetParametersByPath and DescribeParameters, driven by boto3.

Expected behaviour: /work/shared/reference/aws-behaviour.md rules SSM-15 (GetParametersByPath),
SSM-16 (DescribeParameters) and section 1.4 (pagination: tokens always advance, none on the last
page), plus the botocore SSM model (ParameterStringFilter docs, MaxResults ranges).
"""

import json
import unittest

from ssm_support import (DEFAULT_SSM_KEY, ROOT_ARN, SSMTestCase, param_arn, uid)


def names_of(params):
    return sorted(p["Name"] for p in params)


# =============================================================================================
class GetParametersByPathTest(SSMTestCase):

    def make_tree(self):
        """root/a, root/b, root/sub/c, root/sub/deep/d, root/sub/deep/e (SecureString), plus
        siblings whose names merely start with the root's text."""
        root = self.new_path("tree")
        self.secret = f"by-path-secret-{uid(16)}"
        self.put(f"{root}/a", "A")
        self.put(f"{root}/b", "x,y", "StringList")
        self.put(f"{root}/sub/c", "C")
        self.put(f"{root}/sub/deep/d", "D")
        self.put(f"{root}/sub/deep/e", self.secret, "SecureString")
        self.put(f"{root}x/not-mine", "N")          # prefix of the text, not of the path
        self.put(f"{root}-sibling/not-mine", "N")
        return root

    def test_one_level_and_recursive(self):
        root = self.make_tree()
        self.assertEqual([f"{root}/a", f"{root}/b"], names_of(self.by_path(root)))
        self.assertEqual([f"{root}/a", f"{root}/b"],
                         names_of(self.by_path(root + "/", Recursive=False)))
        self.assertEqual([f"{root}/sub/c"], names_of(self.by_path(f"{root}/sub")))
        everything = [f"{root}/a", f"{root}/b", f"{root}/sub/c", f"{root}/sub/deep/d",
                      f"{root}/sub/deep/e"]
        self.assertEqual(everything, names_of(self.by_path(root, Recursive=True)))
        self.assertEqual(everything, names_of(self.by_path(root + "/", Recursive=True)))
        self.assertEqual([f"{root}/sub/deep/d", f"{root}/sub/deep/e"],
                         names_of(self.by_path(f"{root}/sub/deep", Recursive=True)))
        # The last part of a parameter's name is not a path.
        self.assertEqual([], self.by_path(f"{root}/a", Recursive=True))
        self.assertEqual([], self.by_path(f"{root}/nothing-here", Recursive=True))

    def test_items_carry_values_and_metadata(self):
        root = self.make_tree()
        self.put(f"{root}/a", "A2", Overwrite=True)
        items = {p["Name"]: p for p in self.by_path(root, Recursive=True)}
        a = items[f"{root}/a"]
        self.assertEqual(("A2", 2, "String", "text"),
                         (a["Value"], a["Version"], a["Type"], a["DataType"]))
        self.assertEqual(param_arn(f"{root}/a"), a["ARN"])
        self.assertRecent(a["LastModifiedDate"])
        self.assertEqual("x,y", items[f"{root}/b"]["Value"])
        e = items[f"{root}/sub/deep/e"]
        self.assertEqual("SecureString", e["Type"])
        self.assertCiphertext(e["Value"], self.secret)
        dec = {p["Name"]: p for p in self.by_path(root, Recursive=True, WithDecryption=True)}
        self.assertEqual(self.secret, dec[f"{root}/sub/deep/e"]["Value"])
        self.assertEqual("A2", dec[f"{root}/a"]["Value"])  # ignored for String

    def test_path_must_start_with_slash(self):
        self.assertClientError("ValidationException", self.ssm.get_parameters_by_path,
                               Path=f"e2e-{uid()}/x")

    def test_parameter_filters(self):
        root = self.make_tree()
        self.ssm.label_parameter_version(Name=f"{root}/sub/c", Labels=["prod"])
        self.ssm.label_parameter_version(Name=f"{root}/a", Labels=["prod", "blue"])
        self.ssm.label_parameter_version(Name=f"{root}/b", Labels=["green"])
        cases = [
            ([{"Key": "Type", "Option": "Equals", "Values": ["SecureString"]}],
             [f"{root}/sub/deep/e"]),
            ([{"Key": "Type", "Values": ["String", "StringList"]}],
             [f"{root}/a", f"{root}/b", f"{root}/sub/c", f"{root}/sub/deep/d"]),
            ([{"Key": "Type", "Option": "BeginsWith", "Values": ["String"]}],
             [f"{root}/a", f"{root}/b", f"{root}/sub/c", f"{root}/sub/deep/d"]),
            ([{"Key": "KeyId", "Option": "Equals", "Values": [DEFAULT_SSM_KEY]}],
             [f"{root}/sub/deep/e"]),
            ([{"Key": "Label", "Option": "Equals", "Values": ["prod"]}],
             [f"{root}/a", f"{root}/sub/c"]),
            ([{"Key": "Label", "Values": ["green", "blue"]}], [f"{root}/a", f"{root}/b"]),
            ([{"Key": "Label", "Values": ["prod"]}, {"Key": "Type", "Values": ["String"]}],
             [f"{root}/a", f"{root}/sub/c"]),
        ]
        for filters, expected in cases:
            with self.subTest(filters=json.dumps(filters)):
                self.assertEqual(expected, names_of(self.by_path(
                    root, Recursive=True, ParameterFilters=filters)))

    def test_filter_keys_not_allowed_by_path(self):
        root = self.new_path()
        self.put(f"{root}/p", "v")
        for key, value in (("Name", f"{root}/p"), ("Path", root), ("Tier", "Standard"),
                           ("DataType", "text"), ("tag:env", "prod")):
            with self.subTest(key=key):
                self.assertClientError("InvalidFilterKey", self.ssm.get_parameters_by_path,
                                       Path=root, ParameterFilters=[
                                           {"Key": key, "Option": "Equals", "Values": [value]}])
        # Label only supports Equals; Type/KeyId don't support Contains.
        self.assertClientError("InvalidFilterOption", self.ssm.get_parameters_by_path,
                               Path=root, ParameterFilters=[
                                   {"Key": "Label", "Option": "BeginsWith", "Values": ["p"]}])
        self.assertClientError("InvalidFilterOption", self.ssm.get_parameters_by_path,
                               Path=root, ParameterFilters=[
                                   {"Key": "Type", "Option": "Contains", "Values": ["String"]}])

    def test_max_results_range(self):
        root = self.new_path()
        self.put(f"{root}/p", "v")
        self.assertClientError("ValidationException", self.ssm_raw.get_parameters_by_path,
                               Path=root, MaxResults=11)
        self.assertClientError("ValidationException", self.ssm_raw.get_parameters_by_path,
                               Path=root, MaxResults=0)
        self.assertEqual(["v"], [p["Value"] for p in self.by_path(root, max_results=1)])

    def test_bad_next_token(self):
        root = self.new_path()
        self.put(f"{root}/p", "v")
        self.assertClientError("InvalidNextToken", self.ssm.get_parameters_by_path, Path=root,
                               NextToken="garbage-token")

    def test_pagination_of_25_parameters(self):
        root = self.new_path("page")
        expected = []
        for i in range(25):
            name = f"{root}/{'deep/' if i % 3 == 0 else ''}p{i:02d}"
            self.put(name, f"value-{i}")
            expected.append(name)
        self.put(f"{root}x/outsider", "no")

        # Manual paging with MaxResults=10: tokens advance, no duplicates, nothing lost.
        got = self.by_path(root, Recursive=True, max_results=10)
        self.assertEqual(sorted(expected), names_of(got))
        self.assertEqual(25, len(got))

        # One level only: the 16 direct children.
        direct = [n for n in expected if "/deep/" not in n]
        self.assertEqual(sorted(direct), names_of(self.by_path(root, max_results=10)))

        # The first page with MaxResults=10 is at most 10 items and carries a NextToken.
        first = self.ssm.get_parameters_by_path(Path=root, Recursive=True, MaxResults=10)
        self.assertLessEqual(len(first["Parameters"]), 10)
        self.assertTrue(first.get("NextToken"))

        # boto3's paginator (what the CLI does), 10 per page.
        paginator = self.ssm.get_paginator("get_parameters_by_path")
        pages = list(paginator.paginate(Path=root, Recursive=True,
                                        PaginationConfig={"PageSize": 10}))
        tokens = [p.get("NextToken") for p in pages if p.get("NextToken")]
        self.assertEqual(len(tokens), len(set(tokens)))
        self.assertFalse(pages[-1].get("NextToken"))
        items = [p for page in pages for p in page["Parameters"]]
        self.assertEqual(sorted(expected), names_of(items))
        self.assertEqual({f"value-{i}" for i in range(25)}, {p["Value"] for p in items})

        # Pagination keeps working with a filter that matches only some items.
        self.ssm.label_parameter_version(Name=expected[24], Labels=["last"])
        self.assertEqual([expected[24]], names_of(self.by_path(
            root, Recursive=True, max_results=2,
            ParameterFilters=[{"Key": "Label", "Values": ["last"]}])))


# =============================================================================================
class RootPathTest(SSMTestCase):
    """Path "/" on a server of its own, so that no other test's parameters show up."""

    def test_root_path(self):
        self.put("top-bare", "bare")
        self.put("/top-slash", "slash")
        self.put("/dir/child", "child")
        self.put("/dir/sub/grandchild", "grandchild")
        one_level = self.by_path("/")
        # Top-level names, with and without a leading slash (reference SSM-15, moto#1700).
        self.assertEqual(["top-bare", "top-slash"],
                         sorted(p["Name"].lstrip("/") for p in one_level))
        self.assertEqual({"bare", "slash"}, {p["Value"] for p in one_level})
        for p in one_level:
            self.assertEqual(param_arn(p["Name"]), p["ARN"])
        everything = self.by_path("/", Recursive=True)
        self.assertEqual(["dir/child", "dir/sub/grandchild", "top-bare", "top-slash"],
                         sorted(p["Name"].lstrip("/") for p in everything))
        self.assertEqual(["/dir/child"], names_of(self.by_path("/dir")))
        # DescribeParameters without filters lists all four, too.
        self.assertEqual(["dir/child", "dir/sub/grandchild", "top-bare", "top-slash"],
                         sorted(p["Name"].lstrip("/") for p in self.describe_all()))
        self.assertEqual(["top-bare", "top-slash"], sorted(
            p["Name"].lstrip("/") for p in self.describe_all(ParameterFilters=[
                {"Key": "Path", "Option": "OneLevel", "Values": ["/"]}])))


# =============================================================================================
class DescribeParametersTest(SSMTestCase):

    def make_set(self):
        """A small, varied set of parameters under a unique root."""
        root = self.new_path("desc")
        t = uid(8)
        self.secret = f"describe-secret-{uid(16)}"
        self.n = {
            "plain": f"{root}/plain-{t}",
            "list": f"{root}/list-{t}",
            "secure": f"{root}/secure-{t}",
            "adv": f"{root}/team/adv-{t}",
            "ami": f"{root}/team/deep/ami-{t}",
        }
        self.put(self.n["plain"], "p", Description="plain one", AllowedPattern="^[a-z]+$",
                 Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "core"}])
        self.put(self.n["list"], "a,b", "StringList", Tags=[{"Key": "env", "Value": "dev"}])
        self.put(self.n["secure"], self.secret, "SecureString",
                 Tags=[{"Key": "env", "Value": "prod"}])
        self.put(self.n["adv"], "advanced value", Tier="Advanced")
        self.put(self.n["ami"], "ami-0123456789abcdef0", DataType="aws:ec2:image")
        self.put(self.n["plain"], "pp", type_=None, Overwrite=True)
        return root, t

    def describe(self, filters):
        return names_of(self.describe_all(ParameterFilters=filters))

    def scope(self, root):
        """Restricts DescribeParameters to one test's parameters without the Path filter (so
        that the other filters are checked even where Path is what fails)."""
        return {"Key": "Name", "Option": "BeginsWith", "Values": [root + "/"]}

    def test_metadata_fields(self):
        root, _ = self.make_set()
        meta = {p["Name"]: p for p in self.describe_all(ParameterFilters=[self.scope(root)])}
        self.assertEqual(sorted(self.n.values()), sorted(meta))
        plain = meta[self.n["plain"]]
        self.assertEqual(("String", 2, "plain one", "^[a-z]+$", "Standard", "text"),
                         (plain["Type"], plain["Version"], plain["Description"],
                          plain["AllowedPattern"], plain["Tier"], plain["DataType"]))
        self.assertEqual(param_arn(self.n["plain"]), plain["ARN"])
        self.assertEqual(ROOT_ARN, plain["LastModifiedUser"])
        self.assertRecent(plain["LastModifiedDate"])
        self.assertEqual([], plain.get("Policies", []))
        # KeyId only for SecureString, "alias/aws/ssm" by default.
        self.assertEqual(DEFAULT_SSM_KEY, meta[self.n["secure"]]["KeyId"])
        for key in ("plain", "list", "adv", "ami"):
            self.assertNotIn("KeyId", meta[self.n[key]])
        self.assertEqual("Advanced", meta[self.n["adv"]]["Tier"])
        self.assertEqual("aws:ec2:image", meta[self.n["ami"]]["DataType"])
        self.assertEqual("StringList", meta[self.n["list"]]["Type"])

    def test_no_value_on_the_wire(self):
        root, _ = self.make_set()
        resp = self.ssm_request("DescribeParameters", {"ParameterFilters": [self.scope(root)]})
        self.assertEqual(200, resp.status, resp)
        self.assertNotIn(self.secret.encode(), resp.body)
        params = resp.json()["Parameters"]
        self.assertTrue(params, resp)
        for p in params:
            self.assertNotIn("Value", p)
            self.assertIsInstance(p["LastModifiedDate"], (int, float))

    def test_filters(self):
        root, t = self.make_set()
        n = self.n
        scope = self.scope(root)
        cases = [
            ([{"Key": "Name", "Option": "Equals", "Values": [n["plain"], n["adv"]]}],
             sorted([n["plain"], n["adv"]])),
            ([{"Key": "Name", "Values": [n["list"]]}], [n["list"]]),  # default option Equals
            ([{"Key": "Name", "Option": "BeginsWith", "Values": [f"{root}/team/"]}],
             sorted([n["adv"], n["ami"]])),
            ([{"Key": "Name", "Option": "Contains", "Values": [f"secure-{t}"]}], [n["secure"]]),
            ([scope, {"Key": "Type", "Option": "Equals", "Values": ["SecureString"]}],
             [n["secure"]]),
            ([scope, {"Key": "Type", "Option": "BeginsWith", "Values": ["String"]}],
             sorted([n["plain"], n["list"], n["adv"], n["ami"]])),
            ([scope, {"Key": "KeyId", "Option": "Equals", "Values": [DEFAULT_SSM_KEY]}],
             [n["secure"]]),
            ([scope, {"Key": "Tier", "Option": "Equals", "Values": ["Advanced"]}], [n["adv"]]),
            ([scope, {"Key": "Tier", "Values": ["Standard"]}],
             sorted([n["plain"], n["list"], n["secure"], n["ami"]])),
            ([scope, {"Key": "DataType", "Option": "Equals", "Values": ["aws:ec2:image"]}],
             [n["ami"]]),
            ([scope, {"Key": "tag:env", "Option": "Equals", "Values": ["prod"]}],
             sorted([n["plain"], n["secure"]])),
            ([scope, {"Key": "tag:env", "Values": ["prod", "dev"]}],
             sorted([n["plain"], n["list"], n["secure"]])),
            ([{"Key": "tag:team", "Values": ["core"]},
              {"Key": "Name", "Option": "Contains", "Values": [f"plain-{t}"]}], [n["plain"]]),
            ([scope, {"Key": "tag:env", "Values": ["nobody"]}], []),
        ]
        for filters, expected in cases:
            with self.subTest(filters=json.dumps(filters)):
                self.assertEqual(expected, self.describe(filters))

    def test_path_filter(self):
        root, _ = self.make_set()
        n = self.n
        cases = [
            ([{"Key": "Path", "Option": "OneLevel", "Values": [root]}],
             sorted([n["plain"], n["list"], n["secure"]])),
            ([{"Key": "Path", "Values": [f"{root}/team"]}], [n["adv"]]),  # default OneLevel
            ([{"Key": "Path", "Option": "Recursive", "Values": [f"{root}/team"]}],
             sorted([n["adv"], n["ami"]])),
            ([{"Key": "Path", "Option": "Recursive", "Values": [root]}], sorted(n.values())),
            ([{"Key": "Path", "Option": "Recursive", "Values": [root]},
              {"Key": "Type", "Option": "Equals", "Values": ["SecureString"]}], [n["secure"]]),
            ([{"Key": "Path", "Option": "Recursive", "Values": [f"{root}/nothing"]}], []),
            ([{"Key": "Path", "Option": "OneLevel",
               "Values": [f"{root}/team", f"{root}/team/deep"]}],
             sorted([n["adv"], n["ami"]])),
        ]
        for filters, expected in cases:
            with self.subTest(filters=json.dumps(filters)):
                self.assertEqual(expected, self.describe(filters))

    def test_deprecated_filters(self):
        root, t = self.make_set()
        got = self.describe_all(Filters=[{"Key": "Type", "Values": ["SecureString"]}])
        self.assertIn(self.n["secure"], names_of(got))
        self.assertNotIn(self.n["plain"], names_of(got))
        for p in got:
            self.assertEqual("SecureString", p["Type"])

    def test_filters_and_parameter_filters_are_mutually_exclusive(self):
        self.assertClientError("ValidationException", self.ssm.describe_parameters,
                               Filters=[{"Key": "Type", "Values": ["String"]}],
                               ParameterFilters=[{"Key": "Type", "Values": ["String"]}])

    def test_bad_keys_options_and_values(self):
        def pf(key, option, values):
            f = {"Key": key, "Values": values}
            if option:
                f["Option"] = option
            return [f]
        # Label is a GetParametersByPath-only key.
        self.assertClientError("InvalidFilterKey", self.ssm.describe_parameters,
                               ParameterFilters=pf("Label", "Equals", ["prod"]))
        # Each key at most once per request.
        self.assertClientError("InvalidFilterKey", self.ssm.describe_parameters,
                               ParameterFilters=pf("Name", "BeginsWith", ["/a"])
                               + pf("Name", "Contains", ["b"]))
        # A key outside the model's pattern tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType is a
        # model-constraint violation (ValidationException).
        self.assertClientError("ValidationException", self.ssm_raw.describe_parameters,
                               ParameterFilters=pf("Colour", "Equals", ["blue"]))
        for key, option, value in (("Type", "Contains", "String"),
                                   ("Name", "Recursive", "/x"),
                                   ("Path", "BeginsWith", "/x"),
                                   ("Path", "Equals", "/x"),
                                   ("Tier", "Sometimes", "Standard")):
            with self.subTest(key=key, option=option):
                self.assertClientError("InvalidFilterOption", self.ssm.describe_parameters,
                                       ParameterFilters=pf(key, option, [value]))
        # A value outside the key's enum: the reference says InvalidFilterValue; moto (whose
        # messages follow AWS's) answers InvalidFilterOption "The following filter value is not
        # valid: ...", so either is accepted.
        for key, value in (("Tier", "Gold"), ("Type", "Integer")):
            with self.subTest(key=key, value=value):
                self.assertClientError(None, self.ssm.describe_parameters,
                                       ParameterFilters=pf(key, "Equals", [value]),
                                       codes=("InvalidFilterValue", "InvalidFilterOption"))

    def test_max_results_range_and_bad_token(self):
        self.assertClientError("ValidationException", self.ssm_raw.describe_parameters,
                               MaxResults=51)
        self.assertClientError("ValidationException", self.ssm_raw.describe_parameters,
                               MaxResults=0)
        self.assertClientError("InvalidNextToken", self.ssm.describe_parameters,
                               NextToken="garbage-token")

    def test_pagination(self):
        root = self.new_path("dpage")
        names = [f"{root}/p{i:02d}" for i in range(23)]
        for name in names:
            self.put(name, "v")
        for page_size in (1, 5, 10, 50):
            with self.subTest(page_size=page_size):
                got = self.describe_all(max_results=page_size,
                                        ParameterFilters=[self.scope(root)])
                self.assertEqual(names, names_of(got))
                self.assertEqual(23, len(got))
        paginator = self.ssm.get_paginator("describe_parameters")
        pages = list(paginator.paginate(
            ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [root + "/"]}],
            PaginationConfig={"PageSize": 10}))
        self.assertFalse(pages[-1].get("NextToken"))
        self.assertEqual(names, names_of(p for page in pages for p in page["Parameters"]))

    def test_deleted_parameters_disappear(self):
        root = self.new_path()
        self.put(f"{root}/keep", "v")
        self.put(f"{root}/gone", "v")
        self.ssm.delete_parameter(Name=f"{root}/gone")
        self.assertEqual([f"{root}/keep"], self.describe([self.scope(root)]))


if __name__ == "__main__":
    unittest.main()
