"""End-to-end tests of coffer's SSM Parameter Store API (core operations), driven by boto3.

Covers PutParameter / GetParameter / GetParameters / GetParameterHistory / DeleteParameter(s) /
LabelParameterVersion / UnlabelParameterVersion / tag operations, names, types, tiers, versions,
labels and selectors, regions, the wire format and unsupported operations.

Expected behaviour: /work/shared/reference/aws-behaviour.md rules SSM-1..SSM-24 and section 1,
the botocore SSM model, and the AWS Systems Manager user guide ("Understanding parameter name
requirements and constraints", "Working with parameter labels", "Managing parameter tiers").
Exact messages are asserted only where AWS's own text is known (see ssm_support.py).

Run: COFFER_BIN=$PWD/build/coffer python3 -m unittest discover -s tests/e2e/python \
         -p 'test_ssm*.py' -v
"""

import unittest

from botocore.exceptions import ClientError

from coffer_server import ACCOUNT_ID, error_code, http_status, sanitize_error_type
from ssm_support import (INVALID_NAME_MESSAGE, ROOT_ARN, STANDARD_SIZE_MESSAGE,
                         SSMTestCase, max_versions_message, param_arn, uid)


# =============================================================================================
class PutAndGetTest(SSMTestCase):

    def test_put_then_get_string(self):
        name = self.new_name()
        resp = self.ssm.put_parameter(Name=name, Value="https://api.example.com", Type="String",
                                      Description="api base url")
        self.assertEqual(200, http_status(resp))
        self.assertEqual(1, resp["Version"])
        self.assertEqual("Standard", resp["Tier"])  # SSM-24: {"Version": n, "Tier": "Standard"}

        p = self.get(name)
        self.assertEqual(name, p["Name"])
        self.assertEqual("String", p["Type"])
        self.assertEqual("https://api.example.com", p["Value"])
        self.assertEqual(1, p["Version"])
        self.assertEqual(param_arn(name), p["ARN"])
        self.assertEqual("text", p["DataType"])  # the default data type
        self.assertRecent(p["LastModifiedDate"])
        self.assertNotIn("Selector", p)          # only when a selector was used
        self.assertNotIn("SourceResult", p)      # only for /aws/reference/... parameters

    def test_string_list_value_round_trips(self):
        name = self.new_name()
        self.put(name, "alpha,beta,gamma", "StringList")
        p = self.get(name)
        self.assertEqual("StringList", p["Type"])
        self.assertEqual("alpha,beta,gamma", p["Value"])

    def test_with_decryption_is_ignored_for_plain_types(self):
        name = self.new_name()
        self.put(name, "plain-text-value")
        self.assertEqual("plain-text-value", self.get(name, decrypt=True)["Value"])
        self.assertEqual("plain-text-value", self.get(name, decrypt=False)["Value"])

    def test_missing_parameter_is_parameter_not_found(self):
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter,
                               Name=self.new_name("missing"))
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter_history,
                               Name=self.new_name("missing"))

    def test_type_is_required_on_create(self):
        name = self.new_name()
        # SSM-4: ValidationException "A parameter type is required when you create a parameter."
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=name,
                               Value="v")
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_unknown_type_is_rejected(self):
        name = self.new_name()
        # The enum violation is a model-constraint ValidationException on AWS; the model also
        # lists UnsupportedParameterType for PutParameter, so either is AWS-shaped.
        self.assertClientError(None, self.ssm_raw.put_parameter, Name=name, Value="v",
                               Type="Integer",
                               codes=("ValidationException", "UnsupportedParameterType"))
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_description_longer_than_1024_is_rejected(self):
        name = self.new_name()
        self.put(name, "v", Description="d" * 1024)
        self.assertEqual("d" * 1024, self.describe_one(name)["Description"])
        self.assertClientError("ValidationException", self.ssm.put_parameter,
                               Name=self.new_name(), Value="v", Type="String",
                               Description="d" * 1025)

    def test_empty_value_is_rejected(self):
        name = self.new_name()
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=name, Value="",
                               Type="String")

    def test_unicode_value_round_trips(self):
        name = self.new_name()
        value = "grüße, 東京, emoji 🚀, quote \" backslash \\ newline \n end"
        self.put(name, value)
        self.assertEqual(value, self.get(name)["Value"])

    def test_last_modified_user_is_caller_arn(self):
        name = self.new_name()
        self.put(name, "v1")
        self.assertEqual(ROOT_ARN, self.describe_one(name)["LastModifiedUser"])
        hist = self.history(name)
        self.assertEqual([ROOT_ARN], [h["LastModifiedUser"] for h in hist])


# =============================================================================================
class OverwriteTest(SSMTestCase):

    def test_existing_name_without_overwrite_is_parameter_already_exists(self):
        name = self.new_name()
        self.put(name, "first")
        self.assertClientError("ParameterAlreadyExists", self.ssm.put_parameter, Name=name,
                               Value="second", Type="String")
        self.assertClientError("ParameterAlreadyExists", self.ssm.put_parameter, Name=name,
                               Value="second", Type="String", Overwrite=False)
        p = self.get(name)
        self.assertEqual("first", p["Value"])
        self.assertEqual(1, p["Version"])

    def test_overwrite_increments_version_even_for_identical_values(self):
        name = self.new_name()
        self.assertEqual(1, self.put(name, "same")["Version"])
        self.assertEqual(2, self.put(name, "same", Overwrite=True)["Version"])
        self.assertEqual(3, self.put(name, "changed", Overwrite=True)["Version"])
        p = self.get(name)
        self.assertEqual(("changed", 3), (p["Value"], p["Version"]))

    def test_overwrite_on_new_name_creates_version_one(self):
        name = self.new_name()
        self.assertEqual(1, self.put(name, "v", Overwrite=True)["Version"])

    def test_type_is_kept_when_overwrite_omits_it(self):
        name = self.new_name()
        self.put(name, "a,b", "StringList")
        self.put(name, "c,d,e", type_=None, Overwrite=True)
        p = self.get(name)
        self.assertEqual(("StringList", "c,d,e", 2), (p["Type"], p["Value"], p["Version"]))

    def test_tags_and_overwrite_cannot_be_combined(self):
        name = self.new_name()
        self.put(name, "v1")
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=name,
                               Value="v2", Type="String", Overwrite=True,
                               Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(("v1", 1), (self.get(name)["Value"], self.get(name)["Version"]))
        self.assertEqual({}, self.tags(name))

    def test_unspecified_fields_are_kept_on_overwrite(self):
        name = self.new_name()
        self.put(name, "123", Description="numbers only", AllowedPattern=r"^\d+$",
                 Tier="Advanced")
        resp = self.put(name, "456", type_=None, Overwrite=True)
        self.assertEqual("Advanced", resp["Tier"])
        meta = self.describe_one(name)
        self.assertEqual("numbers only", meta["Description"])
        self.assertEqual(r"^\d+$", meta["AllowedPattern"])
        self.assertEqual("Advanced", meta["Tier"])
        self.assertEqual("String", meta["Type"])
        self.assertEqual("text", meta["DataType"])
        self.assertEqual(2, meta["Version"])
        # The kept AllowedPattern still applies.
        self.assertClientError("ParameterPatternMismatchException", self.ssm.put_parameter,
                               Name=name, Value="abc", Overwrite=True)
        # Given fields replace the old ones.
        self.put(name, "xyz", type_=None, Overwrite=True, Description="letters",
                 AllowedPattern="^[a-z]+$")
        meta = self.describe_one(name)
        self.assertEqual(("letters", "^[a-z]+$", 3),
                         (meta["Description"], meta["AllowedPattern"], meta["Version"]))

    def test_changing_the_type_of_a_hierarchical_parameter_is_refused(self):
        # Model doc HierarchyTypeMismatchException: "you can't change a parameter from a String
        # type to a SecureString type. You must create a new, unique parameter."
        name = f"{self.new_path()}/app/setting"
        self.put(name, "plain-setting-value")
        self.assertClientError("HierarchyTypeMismatchException", self.ssm.put_parameter,
                               Name=name, Value="now-secret-value", Type="SecureString",
                               Overwrite=True)
        p = self.get(name)
        self.assertEqual(("String", "plain-setting-value", 1),
                         (p["Type"], p["Value"], p["Version"]))


# =============================================================================================
class NameRulesTest(SSMTestCase):

    def test_names_are_case_sensitive(self):
        root = self.new_path()
        self.put(f"{root}/Key", "upper")
        self.put(f"{root}/key", "lower")
        self.assertEqual("upper", self.get(f"{root}/Key")["Value"])
        self.assertEqual("lower", self.get(f"{root}/key")["Value"])
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=f"{root}/KEY")

    def test_all_allowed_characters(self):
        name = f"{self.new_path()}/Az09_.-/x.y-z_0"
        self.put(name, "ok")
        p = self.get(name)
        self.assertEqual((name, "ok"), (p["Name"], p["Value"]))
        self.assertEqual(param_arn(name), p["ARN"])

    def test_invalid_characters_are_validation_errors(self):
        root = self.new_path()
        for bad in (f"{root}/a b", f"{root}/a$b", f"{root}/user@example.com", f"{root}/a*b",
                    f"{root}/a:b", f"{root}/ä", "bad name " + uid()):
            with self.subTest(name=bad):
                self.assertClientError("ValidationException", self.ssm.put_parameter, Name=bad,
                                       Value="v", Type="String")

    # Model (PutParameter.Name, GetParameter doc): "The service removes any spaces specified for
    # the beginning or end of a parameter name."
    def test_put_trims_leading_and_trailing_spaces(self):
        name = self.new_name()
        self.put(f"  {name}  ", "trimmed")
        p = self.get(name)
        self.assertEqual(("trimmed", name), (p["Value"], p["Name"]))

    def test_get_trims_leading_and_trailing_spaces(self):
        name = self.new_name()
        self.put(name, "trimmed")
        p = self.get(f" {name}  ")
        self.assertEqual(("trimmed", name), (p["Value"], p["Name"]))

    def test_hierarchical_name_must_start_with_slash(self):
        name = f"e2e-{uid()}/child"
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=name,
                               Value="v", Type="String", message=INVALID_NAME_MESSAGE)

    def test_top_level_name_with_and_without_slash_is_one_parameter(self):
        # User guide: "/TestParam1" and "TestParam1" in the same Region are not unique.
        bare = f"top-{uid()}"
        self.put(bare, "bare value")
        self.assertClientError("ParameterAlreadyExists", self.ssm.put_parameter,
                               Name="/" + bare, Value="other", Type="String")
        for form in (bare, "/" + bare):
            with self.subTest(form=form):
                p = self.get(form)
                self.assertEqual("bare value", p["Value"])
                self.assertEqual(bare, p["Name"].lstrip("/"))
                self.assertEqual(f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter/{bare}", p["ARN"])
        self.assertEqual(2, self.put("/" + bare, "slash value", Overwrite=True)["Version"])
        self.assertEqual("slash value", self.get(bare)["Value"])
        self.ssm.delete_parameter(Name="/" + bare)
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=bare)

    def test_reserved_aws_prefix(self):
        # /aws/... is reserved: AccessDeniedException "No access to reserved parameter name".
        self.assertClientError("AccessDeniedException", self.ssm.put_parameter,
                               Name=f"/aws/e2e-{uid()}", Value="v", Type="String", status=None)
        # Bare names starting with aws/ssm (any case) are refused too.  Real AWS has been seen
        # answering AccessDeniedException for bare "aws..." names and ValidationException for
        # "ssm..."-prefixed ones; the reference's template says ValidationException for both.
        for bad in (f"awsTest{uid()}", f"AWS-{uid()}", f"SSM-test{uid()}", f"ssm{uid()}",
                    f"/ssm/e2e-{uid()}", f"/Aws/e2e-{uid()}"):
            with self.subTest(name=bad):
                self.assertClientError(None, self.ssm.put_parameter, Name=bad, Value="v",
                                       Type="String", status=None,
                                       codes=("ValidationException", "AccessDeniedException"))
                # Nothing was created (a Get of a reserved name may itself be refused).
                self.assertClientError(None, self.ssm.get_parameter, Name=bad, status=None,
                                       codes=("ParameterNotFound", "ValidationException",
                                              "AccessDeniedException"))

    def test_aws_or_ssm_inside_a_path_is_fine(self):
        root = self.new_path()
        for name in (f"{root}/aws/x", f"{root}/ssm", f"/myaws-{uid()}", f"/e2e-ssm-{uid()}/p"):
            with self.subTest(name=name):
                self.put(name, "ok")
                self.assertEqual("ok", self.get(name)["Value"])

    def test_name_length_limit_counts_the_arn_prefix(self):
        # 1011 characters including "arn:aws:ssm:us-east-1:123456789012:parameter/" (45 chars).
        prefix_len = len(f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter/")
        self.assertEqual(45, prefix_len)
        head = f"len{uid()}"
        longest = head + "x" * (1011 - prefix_len - len(head))
        self.assertEqual(966, len(longest))
        self.put(longest, "fits")
        self.assertEqual("fits", self.get(longest)["Value"])
        self.assertEqual(1011, len(self.get(longest)["ARN"]))
        self.assertClientError("ValidationException", self.ssm.put_parameter,
                               Name=longest + "y", Value="v", Type="String")
        # Hierarchical: 966 characters fit whether or not the leading "/" is counted; 968 don't.
        root = self.new_path()
        deep = root + "/" + "d" * (966 - len(root) - 1)
        self.assertEqual(966, len(deep))
        self.put(deep, "fits too")
        self.assertEqual("fits too", self.get(deep)["Value"])
        too_long = root + "/" + "d" * (968 - len(root) - 1)
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=too_long,
                               Value="v", Type="String")
        self.assertClientError("ValidationException", self.ssm.put_parameter,
                               Name="/" + "z" * 1500, Value="v", Type="String")

    def test_hierarchy_depth_limit_is_fifteen_levels(self):
        # User guide: /Level-1/L2/.../L14/parameter-name (15 levels) is valid;
        # /Level-1/L2/.../L14/L15/L16/parameter-name fails with HierarchyLevelLimitExceeded.
        first = f"/Level-1-{uid()}"
        fifteen = first + "".join(f"/L{i}" for i in range(2, 15)) + "/parameter-name"
        self.assertEqual(15, fifteen.count("/"))
        self.put(fifteen, "deep")
        self.assertEqual("deep", self.get(fifteen)["Value"])
        seventeen = first + "".join(f"/L{i}" for i in range(2, 17)) + "/parameter-name"
        self.assertEqual(17, seventeen.count("/"))
        self.assertClientError("HierarchyLevelLimitExceededException", self.ssm.put_parameter,
                               Name=seventeen, Value="v", Type="String")
        sixteen = first + "".join(f"/L{i}" for i in range(2, 16)) + "/parameter-name"
        self.assertEqual(16, sixteen.count("/"))
        self.assertClientError("HierarchyLevelLimitExceededException", self.ssm.put_parameter,
                               Name=sixteen, Value="v", Type="String")
        self.assertClientError(None, self.ssm.get_parameter, Name=sixteen,
                               codes=("ParameterNotFound", "ValidationException",
                                      "HierarchyLevelLimitExceededException"))

    def test_arn_is_not_accepted_by_put(self):
        name = self.new_name()
        self.assertClientError("ValidationException", self.ssm.put_parameter,
                               Name=param_arn(name), Value="v", Type="String")

    def test_get_operations_accept_the_arn(self):
        name = self.new_name()
        self.put(name, "by-arn")
        self.put(name, "by-arn-2", Overwrite=True)
        arn = param_arn(name)
        p = self.get(arn)
        self.assertEqual(("by-arn-2", 2, arn), (p["Value"], p["Version"], p["ARN"]))
        got = self.ssm.get_parameters(Names=[arn])
        self.assertEqual([], got["InvalidParameters"])
        self.assertEqual(["by-arn-2"], [x["Value"] for x in got["Parameters"]])
        hist = self.ssm.get_parameter_history(Name=arn)["Parameters"]
        self.assertEqual(["by-arn", "by-arn-2"], [h["Value"] for h in hist])

    def test_get_with_inner_space_is_validation_error(self):
        self.assertClientError("ValidationException", self.ssm.get_parameter,
                               Name=f"/e2e-{uid()}/a b")


# =============================================================================================
class RecordedAwsBehaviourTest(SSMTestCase):
    """Parameter Store behaviours recorded against AWS that coffer once answered differently."""

    def test_a_top_level_parameter_answers_with_the_name_as_asked(self):
        bare = f"top-{uid()}"
        self.put(bare, "v")
        for form in (bare, "/" + bare):
            with self.subTest(form=form):
                self.assertEqual(form, self.get(form)["Name"])
                got = self.ssm.get_parameters(Names=[form])
                self.assertEqual([form], [p["Name"] for p in got["Parameters"]])
                self.assertEqual([], got["InvalidParameters"])

    def test_empty_segments_and_a_hierarchy_without_its_slash_are_invalid(self):
        for bad in (f"/a{uid()}//b", f"a{uid()}/b/c", f"/a{uid()}/b/"):
            with self.subTest(name=bad):
                self.assertClientError("ValidationException", self.ssm.put_parameter, Name=bad,
                                       Value="v", Type="String", message=INVALID_NAME_MESSAGE)

    def test_describe_parameters_reports_every_filter_violation_at_once(self):
        with self.assertRaises(ClientError) as ctx:
            self.ssm_raw.describe_parameters(ParameterFilters=[
                {"Key": "Nope", "Values": ["x"]},
                {"Key": "Name", "Option": "BeginsWithSomething", "Values": ["x"]},
                {"Key": "Type", "Values": ["x" * 1025]}])
        e = ctx.exception
        self.assertEqual("ValidationException", error_code(e))
        message = e.response["Error"]["Message"]
        self.assertTrue(message.startswith("3 validation errors detected: "), message)
        self.assertIn("Value 'Nope' at 'parameterFilters.1.member.key' failed to satisfy "
                      "constraint: Member must satisfy regular expression pattern: "
                      "tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType", message)
        self.assertIn("Value 'BeginsWithSomething' at 'parameterFilters.2.member.option' failed "
                      "to satisfy constraint: Member must have length less than or equal to 10",
                      message)
        self.assertIn("at 'parameterFilters.3.member.values' failed to satisfy constraint",
                      message)

    def test_label_length_message_quotes_the_whole_list(self):
        name = self.new_name()
        self.put(name, "v")
        long_label = "l" * 101
        self.assertClientError(
            "ValidationException", self.ssm_raw.label_parameter_version, Name=name,
            Labels=["ok", long_label],
            message=f"1 validation error detected: Value '[ok, {long_label}]' at 'labels' failed "
                    "to satisfy constraint: Member must satisfy constraint: [Member must have "
                    "length less than or equal to 100, Member must have length greater than or "
                    "equal to 1]")

    def test_a_missing_secret_reference_names_the_reference(self):
        missing = f"/aws/reference/secretsmanager/missing-{uid()}"
        with self.assertRaises(ClientError) as ctx:
            self.ssm.get_parameter(Name=missing, WithDecryption=True)
        self.assertEqual("ParameterNotFound", error_code(ctx.exception))
        self.assertIn(f"Secret {missing} not found.", ctx.exception.response["Error"]["Message"])


# =============================================================================================
class ValueSizeAndTierTest(SSMTestCase):

    def test_standard_tier_holds_4096_characters(self):
        name = self.new_name()
        self.assertEqual("Standard", self.put(name, "s" * 4096)["Tier"])
        self.assertEqual("s" * 4096, self.get(name)["Value"])
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=name,
                               Value="s" * 4097, Type="String", Overwrite=True,
                               message=STANDARD_SIZE_MESSAGE)
        self.assertClientError("ValidationException", self.ssm.put_parameter,
                               Name=self.new_name(), Value="s" * 4097, Type="String",
                               Tier="Standard", message=STANDARD_SIZE_MESSAGE)
        self.assertEqual(1, self.get(name)["Version"])

    def test_advanced_tier_holds_8192_characters(self):
        name = self.new_name()
        resp = self.put(name, "a" * 8192, Tier="Advanced")
        self.assertEqual(("Advanced", 1), (resp["Tier"], resp["Version"]))
        self.assertEqual("a" * 8192, self.get(name)["Value"])
        self.assertEqual("Advanced", self.describe_one(name)["Tier"])
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=name,
                               Value="a" * 8193, Type="String", Overwrite=True)
        self.assertEqual(1, self.get(name)["Version"])

    def test_intelligent_tiering_picks_the_tier_aws_would(self):
        small, large = self.new_name(), self.new_name()
        self.assertEqual("Standard",
                         self.put(small, "tiny", Tier="Intelligent-Tiering")["Tier"])
        self.assertEqual("Standard", self.describe_one(small)["Tier"])
        self.assertEqual("Advanced",
                         self.put(large, "L" * 5000, Tier="Intelligent-Tiering")["Tier"])
        self.assertEqual("Advanced", self.describe_one(large)["Tier"])
        self.assertEqual("L" * 5000, self.get(large)["Value"])

    def test_standard_to_advanced_is_allowed_but_not_back(self):
        name = self.new_name()
        self.assertEqual("Standard", self.put(name, "v1")["Tier"])
        resp = self.put(name, "v2", type_=None, Overwrite=True, Tier="Advanced")
        self.assertEqual(("Advanced", 2), (resp["Tier"], resp["Version"]))
        # Model doc: "you can't revert an advanced parameter to a standard parameter".
        self.assertClientError("ValidationException", self.ssm.put_parameter, Name=name,
                               Value="v3", Overwrite=True, Tier="Standard")
        meta = self.describe_one(name)
        self.assertEqual(("Advanced", 2), (meta["Tier"], meta["Version"]))
        self.assertEqual("v2", self.get(name)["Value"])
        # Omitting Tier keeps Advanced.
        self.assertEqual("Advanced", self.put(name, "v3", type_=None, Overwrite=True)["Tier"])

    def test_default_tier_is_standard(self):
        name = self.new_name()
        self.assertEqual("Standard", self.put(name, "v")["Tier"])
        self.assertEqual("Standard", self.describe_one(name)["Tier"])


# =============================================================================================
class AllowedPatternAndDataTypeTest(SSMTestCase):

    def test_value_must_match_allowed_pattern(self):
        name = self.new_name()
        self.assertClientError("ParameterPatternMismatchException", self.ssm.put_parameter,
                               Name=name, Value="abc", Type="String", AllowedPattern=r"^\d+$")
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)
        self.put(name, "12345", AllowedPattern=r"^\d+$")
        self.assertEqual(r"^\d+$", self.describe_one(name)["AllowedPattern"])
        self.assertEqual(r"^\d+$", self.history(name)[0]["AllowedPattern"])

    def test_invalid_regex_is_invalid_allowed_pattern(self):
        name = self.new_name()
        self.assertClientError("InvalidAllowedPatternException", self.ssm.put_parameter,
                               Name=name, Value="abc", Type="String", AllowedPattern="[a-z")
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_data_types(self):
        root = self.new_path()
        self.put(f"{root}/text", "hello", DataType="text")
        self.assertEqual("text", self.get(f"{root}/text")["DataType"])
        self.put(f"{root}/ami", "ami-0123456789abcdef0", DataType="aws:ec2:image")
        self.assertEqual("aws:ec2:image", self.get(f"{root}/ami")["DataType"])
        self.assertEqual("aws:ec2:image", self.describe_one(f"{root}/ami")["DataType"])
        # SSM-12: other data types -> ValidationException "The following data type is not
        # supported: <dt> (Data type names are all lowercase.)"
        for bad in ("TEXT", "json", "aws:ec2:Image"):
            with self.subTest(data_type=bad):
                self.assertClientError("ValidationException", self.ssm.put_parameter,
                                       Name=f"{root}/bad-{uid(4)}", Value="v", Type="String",
                                       DataType=bad)
        # DataType is kept on overwrite when omitted.
        self.put(f"{root}/ami", "ami-0fedcba9876543210", type_=None, Overwrite=True)
        self.assertEqual("aws:ec2:image", self.get(f"{root}/ami")["DataType"])


# =============================================================================================
class VersionsTest(SSMTestCase):

    def test_history_is_oldest_first_with_every_field(self):
        name = self.new_name()
        self.put(name, "v1", Description="first")
        self.put(name, "v2", type_=None, Overwrite=True, Description="second")
        self.put(name, "v3", type_=None, Overwrite=True)
        hist = self.history(name)
        self.assertEqual([1, 2, 3], [h["Version"] for h in hist])
        self.assertEqual(["v1", "v2", "v3"], [h["Value"] for h in hist])
        self.assertEqual(["first", "second", "second"], [h.get("Description") for h in hist])
        for h in hist:
            self.assertEqual(name, h["Name"])
            self.assertEqual("String", h["Type"])
            self.assertEqual(ROOT_ARN, h["LastModifiedUser"])
            self.assertEqual("Standard", h["Tier"])
            self.assertEqual("text", h["DataType"])
            self.assertEqual([], h.get("Labels", []))
            self.assertEqual([], h.get("Policies", []))
            self.assertNotIn("KeyId", h)
            self.assertRecent(h["LastModifiedDate"])
        dates = [h["LastModifiedDate"] for h in hist]
        self.assertEqual(dates, sorted(dates))

    def test_history_max_results_and_bad_token(self):
        name = self.new_name()
        self.put(name, "only")
        self.assertClientError("ValidationException", self.ssm_raw.get_parameter_history,
                               Name=name, MaxResults=51)
        self.assertClientError("InvalidNextToken", self.ssm.get_parameter_history, Name=name,
                               NextToken="not-a-real-token")

    def test_version_selector(self):
        name = self.new_name()
        for v in ("one", "two", "three"):
            self.put(name, v, Overwrite=True)
        p = self.get(f"{name}:2")
        self.assertEqual(("two", 2, ":2", name), (p["Value"], p["Version"], p["Selector"],
                                                   p["Name"]))
        self.assertEqual(param_arn(name), p["ARN"])
        self.assertEqual("three", self.get(name)["Value"])
        self.assertClientError("ParameterVersionNotFound", self.ssm.get_parameter,
                               Name=f"{name}:9")

    def test_one_hundred_versions_are_kept_and_a_labelled_oldest_blocks(self):
        name = self.new_name()
        for i in range(1, 101):
            self.assertEqual(i, self.put(name, f"value-{i}", Overwrite=True)["Version"])
        self.ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["keep"])

        # SSM-7: the oldest version carries a label, so version 101 can't be created.
        self.assertClientError("ParameterMaxVersionLimitExceeded", self.ssm.put_parameter,
                               Name=name, Value="value-101", Overwrite=True,
                               message=max_versions_message(name, 1))
        hist = self.history(name)
        self.assertEqual(list(range(1, 101)), [h["Version"] for h in hist])
        self.assertEqual("value-100", self.get(name)["Value"])

        # History pages of 50: oldest first, two pages.
        first = self.ssm.get_parameter_history(Name=name, MaxResults=50)
        self.assertEqual(list(range(1, 51)), [h["Version"] for h in first["Parameters"]])
        self.assertTrue(first.get("NextToken"))
        second = self.ssm.get_parameter_history(Name=name, MaxResults=50,
                                                NextToken=first["NextToken"])
        self.assertEqual(list(range(51, 101)), [h["Version"] for h in second["Parameters"]])
        self.assertFalse(second.get("NextToken"))

        # Move the label; the 101st put then drops version 1.
        self.ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["keep"])
        self.assertEqual(101, self.put(name, "value-101", Overwrite=True)["Version"])
        hist = self.history(name)
        self.assertEqual(list(range(2, 102)), [h["Version"] for h in hist])
        self.assertEqual(["keep"], hist[0]["Labels"])
        self.assertClientError("ParameterVersionNotFound", self.ssm.get_parameter,
                               Name=f"{name}:1")
        self.assertEqual("value-2", self.get(f"{name}:keep")["Value"])
        # Now version 2 is the labelled oldest.
        self.assertClientError("ParameterMaxVersionLimitExceeded", self.ssm.put_parameter,
                               Name=name, Value="value-102", Overwrite=True,
                               message=max_versions_message(name, 2))
        # Unlabelled oldest: dropped silently.
        self.ssm.unlabel_parameter_version(Name=name, ParameterVersion=2, Labels=["keep"])
        self.assertEqual(102, self.put(name, "value-102", Overwrite=True)["Version"])
        hist = self.history(name)
        self.assertEqual(list(range(3, 103)), [h["Version"] for h in hist])
        self.assertEqual("value-102", self.get(name)["Value"])


# =============================================================================================
class LabelsTest(SSMTestCase):

    def setUp(self):
        self.name = self.new_name()
        for v in ("v1", "v2", "v3"):
            self.put(self.name, v, Overwrite=True)

    def labels_by_version(self):
        return {h["Version"]: sorted(h.get("Labels", [])) for h in self.history(self.name)}

    def test_label_latest_when_version_is_omitted(self):
        resp = self.ssm.label_parameter_version(Name=self.name, Labels=["latest-ok"])
        self.assertEqual(3, resp["ParameterVersion"])
        self.assertEqual([], resp["InvalidLabels"])
        self.assertEqual({1: [], 2: [], 3: ["latest-ok"]}, self.labels_by_version())

    def test_invalid_labels_are_returned_not_raised(self):
        bad = ["1starts-with-digit", "awsLabel", "AWS-upper", "ssmLabel", "SSM.label",
               "has space", "slash/label", "colon:label", "star*"]
        good = ["prod", "Blue_Green-1.0", "x"]
        resp = self.ssm.label_parameter_version(Name=self.name, ParameterVersion=2,
                                                Labels=good + bad[:7])
        self.assertEqual(2, resp["ParameterVersion"])
        self.assertEqual(sorted(bad[:7]), sorted(resp["InvalidLabels"]))
        self.assertEqual(sorted(good), self.labels_by_version()[2])
        resp = self.ssm.label_parameter_version(Name=self.name, ParameterVersion=2,
                                                Labels=bad[7:])
        self.assertEqual(sorted(bad[7:]), sorted(resp["InvalidLabels"]))
        self.assertEqual(sorted(good), self.labels_by_version()[2])

    def test_label_longer_than_100_characters_is_rejected(self):
        ok = "L" * 100
        resp = self.ssm.label_parameter_version(Name=self.name, ParameterVersion=1, Labels=[ok])
        self.assertEqual([], resp["InvalidLabels"])
        self.assertClientError("ValidationException", self.ssm.label_parameter_version,
                               Name=self.name, ParameterVersion=1, Labels=["L" * 101])
        self.assertEqual([ok], self.labels_by_version()[1])

    def test_at_most_ten_labels_per_version(self):
        ten = [f"label{i}" for i in range(10)]
        self.ssm.label_parameter_version(Name=self.name, ParameterVersion=1, Labels=ten)
        self.assertEqual(sorted(ten), self.labels_by_version()[1])
        self.assertClientError("ParameterVersionLabelLimitExceeded",
                               self.ssm.label_parameter_version, Name=self.name,
                               ParameterVersion=1, Labels=["eleventh"])
        # Re-applying a label the version already has does not count twice.
        resp = self.ssm.label_parameter_version(Name=self.name, ParameterVersion=1,
                                                Labels=["label0"])
        self.assertEqual([], resp["InvalidLabels"])
        self.assertEqual(sorted(ten), self.labels_by_version()[1])

    def test_a_label_moves_between_versions(self):
        self.ssm.label_parameter_version(Name=self.name, ParameterVersion=1, Labels=["prod", "a"])
        self.assertEqual("v1", self.get(f"{self.name}:prod")["Value"])
        self.ssm.label_parameter_version(Name=self.name, ParameterVersion=3, Labels=["prod"])
        self.assertEqual({1: ["a"], 2: [], 3: ["prod"]}, self.labels_by_version())
        p = self.get(f"{self.name}:prod")
        self.assertEqual(("v3", 3, ":prod", self.name),
                         (p["Value"], p["Version"], p["Selector"], p["Name"]))

    def test_unlabel(self):
        self.ssm.label_parameter_version(Name=self.name, ParameterVersion=2,
                                         Labels=["one", "two", "three"])
        resp = self.ssm.unlabel_parameter_version(Name=self.name, ParameterVersion=2,
                                                  Labels=["one", "three", "not-there"])
        self.assertEqual(["one", "three"], sorted(resp["RemovedLabels"]))
        self.assertEqual(["not-there"], resp["InvalidLabels"])
        self.assertEqual(["two"], self.labels_by_version()[2])
        # A label on another version is "not attached to the given version".
        resp = self.ssm.unlabel_parameter_version(Name=self.name, ParameterVersion=1,
                                                  Labels=["two"])
        self.assertEqual([], resp.get("RemovedLabels", []))
        self.assertEqual(["two"], resp["InvalidLabels"])
        self.assertEqual(["two"], self.labels_by_version()[2])

    def test_unlabel_requires_a_version(self):
        self.assertClientError("ValidationException", self.ssm_raw.unlabel_parameter_version,
                               Name=self.name, Labels=["x"])

    def test_label_errors(self):
        missing = self.new_name("missing")
        self.assertClientError("ParameterNotFound", self.ssm.label_parameter_version,
                               Name=missing, Labels=["x"])
        self.assertClientError("ParameterNotFound", self.ssm.unlabel_parameter_version,
                               Name=missing, ParameterVersion=1, Labels=["x"])
        self.assertClientError("ParameterVersionNotFound", self.ssm.label_parameter_version,
                               Name=self.name, ParameterVersion=7, Labels=["x"])
        self.assertClientError("ParameterVersionNotFound", self.ssm.unlabel_parameter_version,
                               Name=self.name, ParameterVersion=7, Labels=["x"])

    def test_label_selectors(self):
        self.ssm.label_parameter_version(Name=self.name, ParameterVersion=1, Labels=["old"])
        p = self.get(f"{self.name}:old")
        self.assertEqual(("v1", 1, ":old"), (p["Value"], p["Version"], p["Selector"]))
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter,
                               Name=f"{self.name}:no-such-label")

    def test_selectors_in_get_parameters(self):
        self.ssm.label_parameter_version(Name=self.name, ParameterVersion=2, Labels=["mid"])
        names = [f"{self.name}:1", f"{self.name}:mid", f"{self.name}:9",
                 f"{self.name}:nolabel", self.name]
        got = self.ssm.get_parameters(Names=names)
        by_selector = {p.get("Selector"): p for p in got["Parameters"]}
        self.assertEqual({":1", ":mid", None}, set(by_selector))
        self.assertEqual(("v1", 1), (by_selector[":1"]["Value"], by_selector[":1"]["Version"]))
        self.assertEqual(("v2", 2), (by_selector[":mid"]["Value"],
                                     by_selector[":mid"]["Version"]))
        self.assertEqual(("v3", 3), (by_selector[None]["Value"], by_selector[None]["Version"]))
        for p in got["Parameters"]:
            self.assertEqual(self.name, p["Name"])
        self.assertEqual(sorted([f"{self.name}:9", f"{self.name}:nolabel"]),
                         sorted(got["InvalidParameters"]))

    def test_labels_survive_overwrites(self):
        self.ssm.label_parameter_version(Name=self.name, ParameterVersion=3, Labels=["stable"])
        self.put(self.name, "v4", Overwrite=True)
        self.assertEqual("v3", self.get(f"{self.name}:stable")["Value"])
        self.assertEqual({1: [], 2: [], 3: ["stable"], 4: []}, self.labels_by_version())


# =============================================================================================
class GetParametersTest(SSMTestCase):

    def test_found_and_missing(self):
        root = self.new_path()
        names = [f"{root}/c", f"{root}/a", f"{root}/b"]
        for n in names:
            self.put(n, "val-" + n[-1])
        missing = [f"{root}/zz-missing", f"{root}/aa-missing"]
        got = self.ssm.get_parameters(Names=names + missing)
        # Model: "The results for GetParameters requests are listed in alphabetical order".
        self.assertEqual(sorted(names), [p["Name"] for p in got["Parameters"]])
        self.assertEqual(["val-a", "val-b", "val-c"], [p["Value"] for p in got["Parameters"]])
        self.assertEqual(sorted(missing), sorted(got["InvalidParameters"]))
        for p in got["Parameters"]:
            self.assertEqual(param_arn(p["Name"]), p["ARN"])
            self.assertEqual(("String", 1, "text"), (p["Type"], p["Version"], p["DataType"]))
            self.assertRecent(p["LastModifiedDate"])

    def test_all_missing_is_not_an_error(self):
        missing = [self.new_name("missing") for _ in range(3)]
        got = self.ssm.get_parameters(Names=missing)
        self.assertEqual([], got["Parameters"])
        self.assertEqual(sorted(missing), sorted(got["InvalidParameters"]))

    def test_more_than_ten_names_is_validation_error(self):
        names = [self.new_name() for _ in range(11)]
        self.assertClientError("ValidationException", self.ssm_raw.get_parameters, Names=names)

    def test_secure_string_in_get_parameters(self):
        name = self.new_name()
        secret = f"get-parameters-secret-{uid(16)}"
        self.put(name, secret, "SecureString")
        enc = self.ssm.get_parameters(Names=[name])["Parameters"][0]
        self.assertEqual("SecureString", enc["Type"])
        self.assertCiphertext(enc["Value"], secret)
        dec = self.ssm.get_parameters(Names=[name], WithDecryption=True)["Parameters"][0]
        self.assertEqual(secret, dec["Value"])


# =============================================================================================
class DeleteTest(SSMTestCase):

    def test_delete_parameter(self):
        name = self.new_name()
        self.put(name, "v1")
        self.put(name, "v2", Overwrite=True)
        self.ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["old"])
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name,
                                      Tags=[{"Key": "team", "Value": "a"}])
        resp = self.ssm.delete_parameter(Name=name)
        self.assertEqual(200, http_status(resp))
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=f"{name}:old")
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter_history, Name=name)
        self.assertClientError("ParameterNotFound", self.ssm.delete_parameter, Name=name)
        # SSM-19: all versions, labels and tags are gone; a new parameter starts at version 1.
        self.assertEqual(1, self.put(name, "fresh")["Version"])
        hist = self.history(name)
        self.assertEqual([(1, "fresh", [])], [(h["Version"], h["Value"], h.get("Labels", []))
                                              for h in hist])
        self.assertEqual({}, self.tags(name))

    def test_delete_missing_is_parameter_not_found(self):
        self.assertClientError("ParameterNotFound", self.ssm.delete_parameter,
                               Name=self.new_name("missing"))

    def test_delete_parameters(self):
        root = self.new_path()
        present = [f"{root}/a", f"{root}/b"]
        for n in present:
            self.put(n, "v")
        missing = [f"{root}/nope"]
        resp = self.ssm.delete_parameters(Names=present + missing)
        self.assertEqual(sorted(present), sorted(resp["DeletedParameters"]))
        self.assertEqual(missing, resp["InvalidParameters"])
        for n in present:
            self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=n)
        resp = self.ssm.delete_parameters(Names=present)
        self.assertEqual([], resp.get("DeletedParameters", []))
        self.assertEqual(sorted(present), sorted(resp["InvalidParameters"]))

    def test_delete_parameters_more_than_ten(self):
        self.assertClientError("ValidationException", self.ssm_raw.delete_parameters,
                               Names=[self.new_name() for _ in range(11)])


# =============================================================================================
class TagsTest(SSMTestCase):

    def test_tags_at_create_and_tag_operations(self):
        name = self.new_name()
        self.put(name, "v", Tags=[{"Key": "env", "Value": "prod"},
                                  {"Key": "team", "Value": "payments"}])
        self.assertEqual({"env": "prod", "team": "payments"}, self.tags(name))
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name,
                                      Tags=[{"Key": "env", "Value": "staging"},
                                            {"Key": "owner", "Value": "ops@example.com"},
                                            {"Key": "empty", "Value": ""}])
        self.assertEqual({"env": "staging", "team": "payments", "owner": "ops@example.com",
                          "empty": ""}, self.tags(name))
        self.ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name,
                                           TagKeys=["team", "not-a-key"])
        self.assertEqual({"env": "staging", "owner": "ops@example.com", "empty": ""},
                         self.tags(name))
        # Overwriting the value doesn't touch the tags.
        self.put(name, "v2", Overwrite=True)
        self.assertEqual({"env": "staging", "owner": "ops@example.com", "empty": ""},
                         self.tags(name))

    def test_untagged_parameter_has_empty_tag_list(self):
        name = self.new_name()
        self.put(name, "v")
        resp = self.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        self.assertEqual([], resp.get("TagList", []))

    def test_missing_parameter_is_invalid_resource_id(self):
        missing = self.new_name("missing")
        self.assertClientError("InvalidResourceId", self.ssm.list_tags_for_resource,
                               ResourceType="Parameter", ResourceId=missing)
        self.assertClientError("InvalidResourceId", self.ssm.add_tags_to_resource,
                               ResourceType="Parameter", ResourceId=missing,
                               Tags=[{"Key": "k", "Value": "v"}])
        self.assertClientError("InvalidResourceId", self.ssm.remove_tags_from_resource,
                               ResourceType="Parameter", ResourceId=missing, TagKeys=["k"])

    def test_at_most_fifty_tags(self):
        name = self.new_name()
        self.put(name, "v")
        fifty = [{"Key": f"k{i:02d}", "Value": f"v{i}"} for i in range(50)]
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=fifty)
        self.assertEqual(50, len(self.tags(name)))
        self.assertClientError("TooManyTagsError", self.ssm.add_tags_to_resource,
                               ResourceType="Parameter", ResourceId=name,
                               Tags=[{"Key": "k50", "Value": "one too many"}])
        # Updating an existing key at the limit is fine.
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name,
                                      Tags=[{"Key": "k00", "Value": "updated"}])
        tags = self.tags(name)
        self.assertEqual(50, len(tags))
        self.assertEqual("updated", tags["k00"])
        self.assertNotIn("k50", tags)

    def test_other_resource_types_are_refused(self):
        name = self.new_name()
        self.put(name, "v")
        # Only Parameter is served; for another type the parameter's name names nothing.
        self.assertClientError(None, self.ssm.list_tags_for_resource, ResourceType="Document",
                               ResourceId=name, codes=("InvalidResourceType",
                                                       "InvalidResourceId"))
        self.assertClientError(None, self.ssm_raw.list_tags_for_resource,
                               ResourceType="NoSuchType", ResourceId=name,
                               codes=("InvalidResourceType", "ValidationException"))

    def test_bad_tag_key_is_rejected(self):
        name = self.new_name()
        self.put(name, "v")
        for tags in ([{"Key": "", "Value": "v"}], [{"Key": "k" * 129, "Value": "v"}],
                     [{"Key": "bad*key", "Value": "v"}], [{"Key": "k", "Value": "v" * 257}]):
            with self.subTest(tags=tags[0]["Key"][:10]):
                self.assertClientError(None, self.ssm_raw.add_tags_to_resource,
                                       ResourceType="Parameter", ResourceId=name, Tags=tags,
                                       codes=("ValidationException", "InvalidTag"))
        self.assertEqual({}, self.tags(name))


# =============================================================================================
class RegionsTest(SSMTestCase):

    def test_regions_are_separate_namespaces(self):
        east = self.ssm
        west = self.server.client("ssm", region="eu-west-1")
        name = self.new_name()
        self.put(name, "east-value", client=east)
        self.assertClientError("ParameterNotFound", west.get_parameter, Name=name)
        self.assertEqual({"Parameters": [], "InvalidParameters": [name]},
                         {k: west.get_parameters(Names=[name]).get(k, [])
                          for k in ("Parameters", "InvalidParameters")})
        root = name.rsplit("/", 1)[0]
        self.assertEqual([], self.by_path(root, client=west))

        # The same name is independent in eu-west-1: no ParameterAlreadyExists, own version.
        resp = west.put_parameter(Name=name, Value="west-value", Type="StringList")
        self.assertEqual(1, resp["Version"])
        pw = west.get_parameter(Name=name)["Parameter"]
        self.assertEqual(("west-value", "StringList"), (pw["Value"], pw["Type"]))
        self.assertEqual(param_arn(name, "eu-west-1"), pw["ARN"])
        pe = east.get_parameter(Name=name)["Parameter"]
        self.assertEqual(("east-value", "String"), (pe["Value"], pe["Type"]))
        self.assertEqual(param_arn(name, "us-east-1"), pe["ARN"])
        self.assertEqual(param_arn(name, "eu-west-1"), self.describe_one(name, client=west)["ARN"])

        west.delete_parameter(Name=name)
        self.assertEqual("east-value", east.get_parameter(Name=name)["Parameter"]["Value"])


# =============================================================================================
class WireFormatTest(SSMTestCase):

    def test_success_and_error_shapes(self):
        name = self.new_name()
        resp = self.ssm_request("PutParameter", {"Name": name, "Value": "raw", "Type": "String"})
        self.assertEqual(200, resp.status, resp)
        self.assertEqual("application/x-amz-json-1.1", resp.header("Content-Type"))
        self.assertTrue(resp.header("x-amzn-RequestId"))
        self.assertEqual({"Version": 1, "Tier": "Standard"}, resp.json())

        got = self.ssm_request("GetParameter", {"Name": name})
        self.assertEqual(200, got.status, got)
        param = got.json()["Parameter"]
        self.assertIsInstance(param["LastModifiedDate"], (int, float))  # epoch seconds
        self.assertNotIsInstance(param["LastModifiedDate"], bool)
        for key, value in param.items():
            self.assertIsNotNone(value, f"null member {key}")

        missing = self.ssm_request("GetParameter", {"Name": self.new_name("missing")})
        self.assertEqual(400, missing.status, missing)
        self.assertEqual("ParameterNotFound", sanitize_error_type(missing.json()["__type"]))
        self.assertEqual("ParameterNotFound",
                         sanitize_error_type(missing.header("x-amzn-ErrorType")))
        self.assertTrue(missing.header("x-amzn-RequestId"))

    def test_unknown_target_is_unknown_operation(self):
        resp = self.ssm_request("NoSuchOperation", {})
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("UnknownOperationException", sanitize_error_type(resp.json()["__type"]))
        self.assertEqual("UnknownOperationException",
                         sanitize_error_type(resp.header("x-amzn-ErrorType")))

    def test_unsupported_operation_error_shape(self):
        resp = self.ssm_request("ListDocuments", {})
        self.assertTrue(400 <= resp.status < 500, resp)
        self.assertEqual("application/x-amz-json-1.1", resp.header("Content-Type"), resp)
        body = resp.json()
        code = sanitize_error_type(body.get("__type"))
        self.assertTrue(code, resp)
        self.assertEqual(code, sanitize_error_type(resp.header("x-amzn-ErrorType")), resp)
        self.assertTrue(body.get("message") or body.get("Message"), resp)
        self.assertTrue(resp.header("x-amzn-RequestId"), resp)

    def test_other_ssm_operations_answer_a_clear_client_error(self):
        calls = [
            ("describe_instance_information", {}),
            ("list_documents", {}),
            ("list_commands", {}),
            ("describe_maintenance_windows", {}),
            ("create_document", {"Content": "{}", "Name": f"doc-{uid()}"}),
            ("send_command", {"DocumentName": "AWS-RunShellScript",
                              "InstanceIds": ["i-0123456789abcdef0"]}),
            ("start_session", {"Target": "i-0123456789abcdef0"}),
            ("get_inventory", {}),
        ]
        for method, kwargs in calls:
            with self.subTest(op=method):
                with self.assertRaises(ClientError) as ctx:
                    getattr(self.ssm, method)(**kwargs)
                resp = ctx.exception.response
                status = http_status(ctx.exception)
                self.assertTrue(400 <= status < 500, resp)
                self.assertTrue(error_code(ctx.exception), resp)
                self.assertTrue(resp.get("Error", {}).get("Message"), resp)
        # The parameter API still works afterwards.
        name = self.new_name()
        self.put(name, "still fine")
        self.assertEqual("still fine", self.get(name)["Value"])


if __name__ == "__main__":
    unittest.main()
