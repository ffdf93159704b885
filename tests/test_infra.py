"""infra/template.yaml: cfn-lint, the SAM transform, and a stack created in moto's CloudFormation,
with the handler then run against the bucket that stack created.

moto's CloudFormation applies a bucket's encryption but not its versioning, public access block
or lifecycle; it skips bucket policies and CloudWatch alarms; its Lambda keeps no
DeadLetterConfig. Those are asserted on the transformed template, everything else on the
resources moto created."""

from __future__ import annotations

import io
import json
import os
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
from handler.app import lambda_handler, worker_handler
from handler.cli.tools import LocalContext

TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "template.yaml"
S3_PREFIXES = ("articles/*", "raw/*", "versions/*", "state/*", "failed/*", "index/*")


class NoManagedPolicies:
    """The template names no managed policies by name, so the loader has nothing to look up."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    sam = cfn_yaml.load(str(TEMPLATE))
    sam["Globals"]["Function"]["CodeUri"] = {"Bucket": "deploy", "Key": "lambda.zip"}
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
    rules = {rule["Prefix"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["raw/"]["Transitions"][0]["TransitionInDays"] == {"Ref": "RawTransitionDays"}
    # Every poll rewrites state/ and index/: old copies expire instead of piling up forever.
    for prefix in ("state/", "index/", "failed/", "site/"):
        expiry = rules[prefix]["NoncurrentVersionExpiration"]
        assert expiry == {"NoncurrentDays": {"Ref": "NoncurrentDays"}}
    assert "NoncurrentVersionExpiration" in rules["articles/"]
    # Nothing current expires but orphaned run leases (no archive data: archive/leases.py).
    assert [prefix for prefix, rule in rules.items() if "ExpirationInDays" in rule] == [
        "index/runs/"
    ]
    statement, site = cfn["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert site["Fn::If"][0] == "PublishesSite" and site["Fn::If"][2] == {"Ref": "AWS::NoValue"}


def test_publish_site_reads_site_pages_through_cloudfront_only(cfn):
    """PublishSite=true: CloudFront, this stack's distribution alone (Origin Access Control),
    may read site/* and nothing else; the functions may write site/* and delete only replaced
    search files; nothing of it exists without PublishSite."""
    site = cfn["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][1]
    grant = site["Fn::If"][1]
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert grant["Action"] == "s3:GetObject" and grant["Effect"] == "Allow"
    assert grant["Resource"] == {"Fn::Sub": "${ArchiveBucket.Arn}/site/*"}
    [(_, source)] = grant["Condition"]["StringEquals"].items()
    assert "${SiteDistribution}" in source["Fn::Sub"]
    for name in ("SiteDistribution", "SiteOriginAccessControl", "FunctionsPublishSite",
                 "SitePageHeaders", "SiteSearchHeaders", "SiteCachePolicy"):  # fmt: skip
        assert cfn["Resources"][name]["Condition"] == "PublishesSite", name
    config = cfn["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginPath"] == "/site" and "OriginAccessControlId" in origin
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert {b["ViewerProtocolPolicy"] for b in behaviors} == {"redirect-to-https"}
    assert all(b["AllowedMethods"] == ["GET", "HEAD"] for b in behaviors)
    writes = cfn["Resources"]["FunctionsPublishSite"]["Properties"]["PolicyDocument"]["Statement"]
    assert {(w["Action"], w["Resource"]["Fn::Sub"]) for w in writes} == {
        ("s3:PutObject", "${ArchiveBucket.Arn}/site/*"),
        ("s3:DeleteObject", "${ArchiveBucket.Arn}/site/search/*"),
    }
    from handler.site.render import CSP, FRAMES, SEARCH_CSP

    headers = {name: cfn["Resources"][name]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        for name in ("SitePageHeaders", "SiteSearchHeaders")}  # fmt: skip
    assert headers == {"SitePageHeaders": CSP + FRAMES, "SiteSearchHeaders": SEARCH_CSP + FRAMES}


def test_function_has_a_dead_letter_queue_and_runs_on_arm64(cfn):
    function = cfn["Resources"]["PollerFunction"]["Properties"]
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert function["Architectures"] == ["arm64"]
    assert function["Runtime"] == "python3.13"
    assert function["Handler"] == "handler.app.lambda_handler"


def test_the_poller_is_scheduled_by_eventbridge_scheduler_with_the_scheduled_event(cfn):
    from handler.run.events import ScheduledPoll, parse_event

    [schedule] = resources_of(cfn, "AWS::Scheduler::Schedule").values()
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["PollerFunction", "Arn"]}
    assert parse_event(json.loads(schedule["Target"]["Input"])) == ScheduledPoll("default")
    assert "Name" not in schedule  # generated, so two stacks in one account do not collide
    [invoke] = cfn["Resources"]["PollerFunctionPollRole"]["Properties"]["Policies"]
    [statement] = invoke["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == {"Fn::GetAtt": ["PollerFunction", "Arn"]}


def test_every_function_logs_to_a_group_with_retention(cfn):
    functions = resources_of(cfn, "AWS::Lambda::Function")
    for name, function in functions.items():
        group = function["LoggingConfig"]["LogGroup"]["Ref"]
        retention = cfn["Resources"][group]["Properties"]["RetentionInDays"]
        assert retention == {"Ref": "LogRetentionDays"}, name


BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def test_iam_policy_is_least_privilege(cfn):
    resources = cfn["Resources"]
    shared = resources["ArchiveAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    actions = {a for s in shared for a in _list(s["Action"])}
    assert actions == {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject",
                       "events:PutEvents"}  # fmt: skip
    for statement in shared:
        for resource in _list(statement["Resource"]):
            assert resource != "*"
            text = json.dumps(resource)
            action = _list(statement["Action"])
            if action == ["s3:ListBucket"]:
                assert resource == {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}
            elif action == ["s3:DeleteObject"]:  # never documents, versions or manifests
                assert text.endswith(
                    (
                        '/raw/*"}',
                        '/failed/*"}',
                        '/index/pending/*"}',
                        '/index/runs/*"}',
                        '/index/revisit/*"}',
                    )
                ), text
            elif action == ["events:PutEvents"]:
                assert resource == {"Fn::GetAtt": ["ChangeEventBus", "Arn"]}
            elif statement["Sid"] == "ReadConfigurationAndImports":  # read only
                assert action == ["s3:GetObject"] and text.endswith(('/config/*"}', '/imports/*"}'))
            else:
                assert text.endswith(tuple(f'/{p}"}}' for p in S3_PREFIXES)), text

    poller = resources["PollerFunctionRole"]["Properties"]
    assert poller["ManagedPolicyArns"] == [BASIC_EXECUTION, {"Ref": "ArchiveAccessPolicy"}]
    assert _inline(poller) == [(["sqs:SendMessage"], {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})]
    queue_work = resources["PollerQueuesWork"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in queue_work] == [
        ("sqs:SendMessage", {"Fn::GetAtt": ["WorkQueue", "Arn"]})
    ]
    worker = resources["WorkerRole"]["Properties"]
    assert worker["ManagedPolicyArns"][1] == {"Ref": "ArchiveAccessPolicy"}
    assert "AWSLambdaSQSQueueExecutionRole" not in json.dumps(worker)  # its '*' on queues
    assert _inline(worker) == [
        (["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
          "sqs:GetQueueAttributes"], {"Fn::GetAtt": ["WorkQueue", "Arn"]}),
        (["sqs:SendMessage"], {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]}),
    ]  # fmt: skip


def _inline(role: dict[str, Any]) -> list[tuple[list[str], Any]]:
    return [
        (_list(s["Action"]), s["Resource"])
        for policy in role.get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
    ]


def test_alarms_watch_errors_the_dlq_and_six_quiet_hours(cfn):
    alarms = resources_of(cfn, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {"FunctionErrorsAlarm", "DeadLetterQueueAlarm", "NoNewArticlesAlarm",
                           "WorkDeadLetterAlarm", "WorkQueueAgeAlarm", "EventsFailedAlarm",
                           "WorkerErrorsAlarm", "ExtractionDisagreementAlarm"}  # fmt: skip
    quiet = alarms["NoNewArticlesAlarm"]
    # Inline mode archives in the scheduled poller, fan-out mode in the workers: both count.
    watched = _metric_queries(quiet)
    assert watched == {("ArticlesNew", "scheduled"), ("ArticlesNew", "worker")}
    [expression] = [q for q in quiet["Metrics"] if q.get("ReturnData")]
    assert expression["Expression"] == "FILL(scheduled, 0) + FILL(worker, 0)"
    period = {q["MetricStat"]["Period"] for q in quiet["Metrics"] if "MetricStat" in q}
    assert period == {3600} and quiet["EvaluationPeriods"] == 6
    assert (quiet["ComparisonOperator"], quiet["Threshold"]) == ("LessThanOrEqualToThreshold", 0)
    assert quiet["TreatMissingData"] == "breaching"  # a poller that stopped running is quiet too
    assert alarms["FunctionErrorsAlarm"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "PollerFunction"}}
    ]
    dlq = alarms["DeadLetterQueueAlarm"]["Dimensions"][0]["Value"]
    assert dlq == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    assert alarms["WorkQueueAgeAlarm"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    work_dlq = alarms["WorkDeadLetterAlarm"]["Dimensions"][0]["Value"]
    assert work_dlq == {"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}


def _metric_queries(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """(metric, action) of each metric an alarm's expression reads; the dimensions are those
    every EMF record of handler/app.py carries (service + action)."""
    from handler.app import ACTIONS, WORKER_ACTION

    watched = set()
    for query in alarm["Metrics"]:
        if "MetricStat" not in query:
            continue
        metric = query["MetricStat"]["Metric"]
        assert metric["Namespace"] == "NtvArchive"
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dimensions.keys() == {"service", "action"}
        assert dimensions["service"] == "ntv-archive"
        assert dimensions["action"] in {*ACTIONS.values(), WORKER_ACTION}
        assert query["Id"] in query_expression(alarm)
        watched.add((metric["MetricName"], dimensions["action"]))
    return watched


def query_expression(alarm: dict[str, Any]) -> str:
    [expression] = [q["Expression"] for q in alarm["Metrics"] if q.get("ReturnData")]
    return str(expression)


def test_failed_change_events_alarm_in_every_action(cfn):
    from handler.app import ACTIONS, WORKER_ACTION

    alarm = cfn["Resources"]["EventsFailedAlarm"]["Properties"]
    actions = {*ACTIONS.values(), WORKER_ACTION}
    assert _metric_queries(alarm) == {("EventsFailed", action) for action in actions}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_extraction_disagreement_alarm_in_every_action(cfn):
    """The metric the pipeline emits per run (handler.app._publish) is the one alarmed on."""
    from handler.app import ACTIONS, WORKER_ACTION

    alarm = cfn["Resources"]["ExtractionDisagreementAlarm"]["Properties"]
    actions = {*ACTIONS.values(), WORKER_ACTION}
    assert _metric_queries(alarm) == {("ExtractionDisagreement", action) for action in actions}
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


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

    # moto's CloudFormation does not create AWS::Scheduler::Schedule: asserted on the template.

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


def test_fanout_worker_reads_its_fifo_queue_with_partial_batch_failures(cfn):
    resources = cfn["Resources"]
    [mapping] = resources_of(cfn, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerMaxConcurrency"}}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["WorkQueue", "Arn"]}
    queue = resources["WorkQueue"]["Properties"]
    assert queue["FifoQueue"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }
    # Visibility timeout beyond any allowed worker timeout (AWS advises 6x).
    assert queue["VisibilityTimeout"] >= 6 * cfn["Parameters"]["WorkerTimeout"]["MaxValue"]
    worker = resources["WorkerFunction"]["Properties"]
    assert worker["Handler"] == "handler.app.worker_handler"
    assert worker["Environment"]["Variables"]["MAX_RECEIVES"] == {"Ref": "MaxReceiveCount"}
    fanout_only = ("WorkQueue", "WorkDeadLetterQueue", "WorkerFunction", "WorkerRole")
    assert all(resources[name]["Condition"] == "IsFanout" for name in fanout_only)


def test_fanout_stack_polls_into_the_queue_and_the_worker_archives(
    cfn, aws_env, site: Site, monkeypatch
):
    site.add(
        "/politik/Stadtrat-beschliesst-Fahrradplan-id40000001.html", page("ntv2025_article.html")
    )
    site.serve()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="deploy", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        s3.put_object(Bucket="deploy", Key="lambda.zip", Body=_tiny_zip())
        client = boto3.client("cloudformation")
        client.create_stack(StackName="fan", TemplateBody=json.dumps(cfn),
                            Parameters=[{"ParameterKey": "Mode", "ParameterValue": "fanout"}],
                            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])  # fmt: skip
        [described] = client.describe_stacks(StackName="fan")["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
        lam = boto3.client("lambda")
        poller = lam.get_function_configuration(FunctionName=outputs["FunctionName"])
        worker = lam.get_function_configuration(FunctionName=outputs["WorkerFunctionName"])
        [mapping] = lam.list_event_source_mappings(FunctionName=outputs["WorkerFunctionName"])[
            "EventSourceMappings"
        ]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        for name, value in poller["Environment"]["Variables"].items():
            monkeypatch.setenv(name, str(value))  # moto returns numbers as ints
        assert os.environ["MODE"] == "fanout" and os.environ["QUEUE_URL"] == outputs["WorkQueueUrl"]
        monkeypatch.setenv("FEED_URL", site.feed_url)
        monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
        polled = lambda_handler({"source": "aws.events"}, LocalContext(300))
        assert polled["queued"] == 1

        sqs = boto3.client("sqs")
        [message] = sqs.receive_message(QueueUrl=outputs["WorkQueueUrl"], AttributeNames=["All"])[
            "Messages"
        ]
        for name, value in worker["Environment"]["Variables"].items():
            monkeypatch.setenv(name, str(value))  # moto returns numbers as ints
        monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")  # the local site, as for the poller
        record = {"messageId": message["MessageId"], "body": message["Body"],
                  "attributes": message["Attributes"], "eventSource": "aws:sqs"}  # fmt: skip
        assert worker_handler({"Records": [record]}, LocalContext(120)) == {"batchItemFailures": []}
        archive = outputs["ArchiveBucketName"]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=archive)["Contents"]]
        assert "articles/2025/03/14/ntv-40000001.json" in keys


def _tiny_zip() -> bytes:
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("handler/__init__.py", "")
    return bundle.getvalue()


def test_template_parameter_defaults_are_the_codes_own():
    """A parameter that sets a Lambda setting defaults to what the code does without it
    (ENV_DEFAULTS): the two were twins with no test, and a deploy with the template's defaults
    must behave as the README and `ntv-archive run` describe."""
    from handler.core.config import ENV_DEFAULTS

    sam = cfn_yaml.load(str(TEMPLATE))
    parameters = sam["Parameters"]
    bound: dict[str, str] = {}
    for resource in sam["Resources"].values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
                bound[name] = value["Ref"]
    checked = {name: parameter for name, parameter in bound.items() if name in ENV_DEFAULTS}
    assert {"FEED_URL", "REVISIT_AFTER", "CONCURRENCY", "MODE"} <= set(checked)
    mismatched = {
        name: (parameters[parameter].get("Default"), ENV_DEFAULTS[name])
        for name, parameter in checked.items()
        if str(parameters[parameter].get("Default")) != str(ENV_DEFAULTS[name])
    }
    assert mismatched == {}
