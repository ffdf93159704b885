"""infra/template.yaml: cfn-lint, the SAM transform, and a stack created in moto's CloudFormation,
with the handler then run against the bucket that stack created.

moto's CloudFormation applies a bucket's encryption but not its versioning, public access block
or lifecycle; it skips bucket policies and CloudWatch alarms; its Lambda keeps no
DeadLetterConfig. Those are asserted on the transformed template, everything else on the
resources moto created."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml
from moto import mock_aws
from samtranslator.translator.transform import transform

from conftest import Site, assert_valid, page
from handler.app import lambda_handler
from handler.cli import LocalContext

TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "template.yaml"
S3_PREFIXES = ("articles/*", "raw/*", "versions/*", "state/*", "failed/*", "index/*")


class NoManagedPolicies:
    """The template names no managed policies by name, so the loader has nothing to look up."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    sam = cfn_yaml.load(str(TEMPLATE))
    sam["Resources"]["PollerFunction"]["Properties"]["CodeUri"] = {
        "Bucket": "deploy",
        "Key": "lambda.zip",
    }
    with pytest.MonkeyPatch.context() as patch:  # the transform builds ARNs for a region
        patch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        return transform(sam, {}, NoManagedPolicies())


def resources_of(cfn: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r["Properties"] for name, r in cfn["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_finds_nothing():
    assert [str(m) for m in lint_file(TEMPLATE)] == []


def test_bucket_is_private_encrypted_versioned_tls_only_with_raw_lifecycle(cfn):
    bucket = cfn["Resources"]["ArchiveBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == "raw/"
    assert rule["Transitions"][0]["TransitionInDays"] == {"Ref": "RawTransitionDays"}
    [statement] = cfn["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_function_has_a_dead_letter_queue_and_runs_on_arm64(cfn):
    [function] = resources_of(cfn, "AWS::Lambda::Function").values()
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert function["Architectures"] == ["arm64"]
    assert function["Runtime"] == "python3.11"
    assert function["Handler"] == "handler.app.lambda_handler"


def test_iam_policy_is_least_privilege(cfn):
    [role] = resources_of(cfn, "AWS::IAM::Role").values()
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in _list(s["Action"]))]
    others = [s for s in statements if s not in s3]
    actions = {a for s in s3 for a in _list(s["Action"])}
    assert actions == {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"}
    for statement in s3:
        for resource in _list(statement["Resource"]):
            assert resource != "*"
            text = json.dumps(resource)
            if "s3:ListBucket" in _list(statement["Action"]):
                assert resource == {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}
            elif "s3:DeleteObject" in _list(statement["Action"]):  # never documents or versions
                assert text.endswith(('/raw/*"}', '/failed/*"}')), text
            else:
                assert text.endswith(tuple(f'/{p}"}}' for p in S3_PREFIXES)), text
    # Announcing changes on its own bus, and (added by SAM) sending to its DLQ: nothing more.
    assert sorted((_list(s["Action"]), json.dumps(s["Resource"])) for s in others) == [
        (["events:PutEvents"], json.dumps({"Fn::GetAtt": ["ChangeEventBus", "Arn"]})),
        (["sqs:SendMessage"], json.dumps({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})),
    ]


def test_alarms_watch_errors_the_dlq_and_six_quiet_hours(cfn):
    alarms = {p["MetricName"]: p for p in resources_of(cfn, "AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {"Errors", "ApproximateNumberOfMessagesVisible", "ArticlesNew"}
    quiet = alarms["ArticlesNew"]
    # The EMF record of a scheduled run carries exactly these dimensions (handler/app.py).
    assert quiet["Namespace"] == "NtvArchive"
    assert quiet["Dimensions"] == [
        {"Name": "service", "Value": "ntv-archive"},
        {"Name": "action", "Value": "ScheduledPoll"},
    ]
    assert quiet["Period"] * quiet["EvaluationPeriods"] == 6 * 3600
    assert (quiet["ComparisonOperator"], quiet["Threshold"]) == ("LessThanOrEqualToThreshold", 0)
    assert quiet["TreatMissingData"] == "breaching"  # a poller that stopped running is quiet too
    assert alarms["Errors"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "PollerFunction"}}
    ]
    dlq = alarms["ApproximateNumberOfMessagesVisible"]["Dimensions"][0]["Value"]
    assert dlq == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture
def stack(cfn, aws_env) -> Any:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="deploy", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        bundle = io.BytesIO()
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.writestr("handler/__init__.py", "")
        s3.put_object(Bucket="deploy", Key="lambda.zip", Body=bundle.getvalue())
        client = boto3.client("cloudformation")
        client.create_stack(
            StackName="ntv-archive",
            TemplateBody=json.dumps(cfn),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        [described] = client.describe_stacks(StackName="ntv-archive")["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE"
        yield {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}


def test_stack_resources_as_created(stack):
    bucket = stack["ArchiveBucketName"]
    encryption = boto3.client("s3").get_bucket_encryption(Bucket=bucket)
    rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    lam = boto3.client("lambda")
    config = lam.get_function_configuration(FunctionName=stack["FunctionName"])
    assert config["Environment"]["Variables"]["ARCHIVE_STORE"] == stack["ArchiveStore"]
    assert stack["ArchiveStore"] == f"s3://{bucket}/"
    concurrency = lam.get_function_concurrency(FunctionName=stack["FunctionName"])
    assert concurrency["ReservedConcurrentExecutions"] == 1

    events = boto3.client("events")
    [rule] = [r for r in events.list_rules()["Rules"] if r.get("ScheduleExpression")]
    assert rule["ScheduleExpression"] == "rate(10 minutes)"
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == config["FunctionArn"]

    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack["DeadLetterQueueUrl"], AttributeNames=["MessageRetentionPeriod"]
    )
    assert attributes["Attributes"]["MessageRetentionPeriod"] == "1209600"

    [group] = boto3.client("logs").describe_log_groups()["logGroups"]
    assert group["retentionInDays"] == 90


def test_handler_archives_into_the_stack_bucket(stack, site: Site, monkeypatch, capsys):
    site.add(
        "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html", page("ntv2025_article.html")
    )
    site.serve()
    monkeypatch.setenv("ARCHIVE_STORE", stack["ArchiveStore"])
    monkeypatch.setenv("FEED_URL", site.feed_url)
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    response = lambda_handler(
        {"source": "aws.events", "detail-type": "Scheduled Event"}, LocalContext(300)
    )
    assert (response["new"], response["failed"]) == (1, 0)
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=stack["ArchiveBucketName"])["Contents"]
    keys = sorted(o["Key"] for o in listed if o["Key"].startswith(("articles/", "raw/")))
    assert keys[0] == "articles/2025/03/14/ntv-40000001.json"
    assert keys[1].startswith("raw/2025/03/14/ntv-40000001/")
    body = s3.get_object(Bucket=stack["ArchiveBucketName"], Key=keys[0])["Body"].read()
    assert_valid(json.loads(body))


def _glue_table(cfn: dict[str, Any]) -> dict[str, Any]:
    [table] = resources_of(cfn, "AWS::Glue::Table").values()
    return table["TableInput"]


def test_glue_table_reads_articles_by_day_without_a_crawler(cfn):
    table = _glue_table(cfn)
    params = table["Parameters"]
    assert params["projection.enabled"] == "true"
    assert (params["projection.day.type"], params["projection.day.format"]) == (
        "date",
        "yyyy/MM/dd",
    )
    assert params["storage.location.template"] == {
        "Fn::Sub": "s3://${ArchiveBucket}/articles/${!day}/"
    }
    assert table["PartitionKeys"] == [{"Name": "day", "Type": "string"}]
    storage = table["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert storage["Location"] == {"Fn::Sub": "s3://${ArchiveBucket}/articles/"}


def test_glue_columns_cover_the_published_document_schema(cfn):
    from handler.schema import article_schema

    columns = {c["Name"]: c["Type"] for c in _glue_table(cfn)["StorageDescriptor"]["Columns"]}
    properties = article_schema()["properties"]
    assert set(columns) == set(properties)
    for name, spec in properties.items():
        if spec.get("type") == "array":
            assert columns[name].startswith("array<"), name
        if spec.get("type") == "boolean":
            assert columns[name] == "boolean", name


def test_glue_table_is_accepted_by_the_glue_api(cfn, aws_env):
    text = json.dumps(_glue_table(cfn))
    # Resolve the two substitutions the stack would resolve.
    text = text.replace('{"Fn::Sub": "s3://${ArchiveBucket}/articles/${!day}/"}',
                        '"s3://archive-bucket/articles/${day}/"')  # fmt: skip
    text = text.replace('{"Fn::Sub": "s3://${ArchiveBucket}/articles/"}',
                        '"s3://archive-bucket/articles/"')  # fmt: skip
    with mock_aws():
        glue = boto3.client("glue")
        glue.create_database(DatabaseInput={"Name": "ntv_archive"})
        glue.create_table(DatabaseName="ntv_archive", TableInput=json.loads(text))
        table = glue.get_table(DatabaseName="ntv_archive", Name="articles")["Table"]
    assert table["Parameters"]["projection.day.range"] == "2000/01/01,NOW"
    assert table["StorageDescriptor"]["Location"] == "s3://archive-bucket/articles/"


def test_stack_bus_and_example_rule_deliver_change_events(stack, site: Site, monkeypatch):
    site.add(
        "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html", page("ntv2025_article.html")
    )
    site.serve()
    config = boto3.client("lambda").get_function_configuration(FunctionName=stack["FunctionName"])
    variables = config["Environment"]["Variables"]
    assert variables["EVENT_BUS_NAME"] == stack["ChangeEventBusName"] == "ntv-archive-changes"
    for name in ("ARCHIVE_STORE", "EVENT_BUS_NAME"):
        monkeypatch.setenv(name, variables[name])
    monkeypatch.setenv("FEED_URL", site.feed_url)
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    response = lambda_handler({"source": "aws.events"}, LocalContext(300))
    assert (response["new"], response["events_failed"]) == (1, 0)
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(QueueUrl=stack["ArchivedArticlesQueueUrl"])["Messages"]
    event = json.loads(message["Body"])
    assert (event["detail-type"], event["detail"]["id"]) == ("ArticleArchived", "ntv-40000001")
