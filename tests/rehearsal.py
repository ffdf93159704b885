"""The deployment rehearsal: the artifact users deploy, run the way AWS runs it.

- **Stack**: ``infra/template.yaml`` through the SAM transform, created by CloudFormation over
  HTTP in a moto server (its own process), once per mode, with the built bundle as the code.
- **Functions**: for each function the stack holds, its handler string, timeout and
  environment are read back from the stack (Lambda's GetFunctionConfiguration) and the handler
  is imported from the unpacked bundle by an isolated ``python3.13 -I -S`` that sees nothing but
  the bundle, the way Lambda's runtime loads it.
- **Credentials**: each function runs with a session of its own role (AssumeRole), and moto's
  IAM enforcement is on while it runs, so a permission the code uses and the template lacks
  fails here as it would in AWS.

Where moto's IAM check differs from AWS's, ``moto_equivalents`` states the difference and
adapts the role to it (docs/security.md lists them): moto checks EventBridge calls against
resource ``*`` only (so bus-scoped statements are also granted on ``*``, keeping the action
check), and it asks for ``sqs:SendMessageBatch`` where AWS authorises a batch with
``sqs:SendMessage``. Resource scoping of those statements is asserted on the template instead.
"""

from __future__ import annotations

import ast
import contextlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import boto3

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
REGION = "eu-central-1"
RUNTIME_PYTHON = "3.13"  # the template's runtime (python3.13), checked by the rehearsal


def runtime_python() -> str | None:
    """The interpreter matching the Lambda runtime: on PATH, or under pyenv."""
    found = shutil.which(f"python{RUNTIME_PYTHON}")
    if found and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0:
        return found
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(pyenv.glob(f"{RUNTIME_PYTHON}.*/bin/python{RUNTIME_PYTHON}")):
        return str(candidate)
    return None


# ---------------------------------------------------------------------------------------------
# moto in server mode, its own process (IAM enforcement is process-wide state in moto)


@dataclass
class Moto:
    endpoint: str
    admin: boto3.Session

    def client(self, service: str) -> Any:
        return self.admin.client(service, endpoint_url=self.endpoint)

    def enforce_iam(self, on: bool) -> None:
        """moto checks signatures and policies on every request from now on (or stops)."""
        count = b"0" if on else b"inf"
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=count,
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200


@contextlib.contextmanager
def moto_process() -> Iterator[Moto]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
    )
    try:
        _wait_listening(port)
        endpoint = f"http://127.0.0.1:{port}"
        boot = boto3.Session(
            aws_access_key_id="boot", aws_secret_access_key="boot", region_name=REGION
        )
        iam = boot.client("iam", endpoint_url=endpoint)
        iam.create_user(UserName="rehearsal-admin")
        admin_policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="rehearsal-admin", PolicyName="admin", PolicyDocument=json.dumps(admin_policy)
        )
        key = iam.create_access_key(UserName="rehearsal-admin")["AccessKey"]
        admin = boto3.Session(
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name=REGION,
        )
        yield Moto(endpoint, admin)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("moto server did not start")


# ---------------------------------------------------------------------------------------------
# The template and the stack


class _NoManagedPolicyNames:
    def load(self) -> dict[str, str]:
        return {}  # the template names managed policies by ARN only


def transformed_template(edit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The CloudFormation that ``sam deploy`` submits, code in s3://deploy/lambda.zip (what
    ``sam package`` does). ``edit`` may change the SAM template first (negative tests)."""
    from cfnlint.decode import cfn_yaml
    from samtranslator.translator.transform import transform

    sam = cfn_yaml.load(str(TEMPLATE))
    if edit is not None:
        edit(sam)
    code = {"Bucket": "deploy", "Key": "lambda.zip"}
    sam["Globals"]["Function"]["CodeUri"] = code
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"].pop("CodeUri", None)
            resource.pop("Metadata", None)  # sam build's instructions; the zip is built
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION  # the transform builds ARNs for a region
    try:
        return without_cloudfront(dict(transform(sam, {}, _NoManagedPolicyNames())))
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def without_cloudfront(template: dict[str, Any]) -> dict[str, Any]:
    """moto's CloudFormation creates no CloudFront distribution, origin access control or
    header policy (it leaves them out, then fails on the first reference). The rehearsal
    deploys the rest: the site's bucket policy names a stand-in distribution ARN, and what the
    left-out resources hold is asserted on the template (tests/test_infra.py) and by cfn-lint.
    The functions' own site permissions are deployed and enforced as written."""
    dropped = {name for name, resource in template["Resources"].items()
               if resource["Type"].startswith("AWS::CloudFront::")}  # fmt: skip
    for name in dropped:
        del template["Resources"][name]
    outputs = template.get("Outputs", {})
    for name in [
        n for n, output in outputs.items() if any(d in json.dumps(output) for d in dropped)
    ]:
        del outputs[name]
    text = json.dumps(template)
    for name in dropped:  # ${SiteDistribution} inside an Fn::Sub: the stand-in's ARN
        text = text.replace(f"distribution/${{{name}}}", "distribution/REHEARSAL")
    return dict(json.loads(text))


@dataclass
class Function:
    logical_id: str
    name: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    role_arn: str
    environment: dict[str, str]
    credentials: dict[str, str] = field(default_factory=dict)
    batch_size: int = 0  # from its SQS event source mapping, if it has one
    reports_failures: bool = False  # the mapping reads batchItemFailures


@dataclass
class Stack:
    moto: Moto
    name: str
    outputs: dict[str, str]
    functions: dict[str, Function]
    template: dict[str, Any]

    def keys(self, prefix: str = "") -> list[str]:
        s3 = self.moto.client("s3")
        bucket = self.outputs["ArchiveBucketName"]
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for p in pages for o in p.get("Contents", []))

    def read(self, key: str) -> bytes:
        s3 = self.moto.client("s3")
        body = s3.get_object(Bucket=self.outputs["ArchiveBucketName"], Key=key)["Body"]
        return bytes(body.read())

    def receive(self, queue_url: str, batch_size: int = 10) -> list[dict[str, Any]]:
        """Messages as the SQS event source hands them to a function (one batch)."""
        got = (
            self.moto.client("sqs")
            .receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=batch_size,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            .get("Messages", [])
        )
        arn = self.queue_arn(queue_url)
        return [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for m in got
        ]

    def settle(self, queue_url: str, records: list[dict[str, Any]], response: Any) -> None:
        """What the event source mapping does with a worker's answer: delete every message not
        reported in ``batchItemFailures``; a reported one becomes visible again once its
        visibility timeout passes (made immediate here)."""
        sqs = self.moto.client("sqs")
        reported = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for record in records:
            if record["messageId"] in reported:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"])

    def queue_arn(self, queue_url: str) -> str:
        attributes = self.moto.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )
        return str(attributes["Attributes"]["QueueArn"])

    def schedule_input(self) -> dict[str, Any]:
        """The event the stack's EventBridge Scheduler schedule sends the poller."""
        [schedule] = [
            r["Properties"]
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::Scheduler::Schedule"
        ]
        return dict(json.loads(schedule["Target"]["Input"]))


def deploy(
    moto: Moto, name: str, bundle_zip: Path, template: dict[str, Any], **parameters: str
) -> Stack:
    """Create the stack and read back what each function gets; IAM enforcement stays off."""
    moto.enforce_iam(False)
    s3 = moto.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket="deploy", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.upload_file(str(bundle_zip), "deploy", "lambda.zip")
    cfn = moto.client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    [described] = cfn.describe_stacks(StackName=name)["Stacks"]
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {name}: {described['StackStatus']}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    resources = cfn.describe_stack_resources(StackName=name)["StackResources"]
    lam = moto.client("lambda")
    functions = {}
    for resource in resources:
        if resource.get("ResourceType") != "AWS::Lambda::Function":
            continue
        config = lam.get_function_configuration(FunctionName=resource["PhysicalResourceId"])
        variables = config.get("Environment", {}).get("Variables", {})
        functions[resource["LogicalResourceId"]] = Function(
            logical_id=resource["LogicalResourceId"],
            name=config["FunctionName"],
            handler=config["Handler"],
            runtime=config["Runtime"],
            timeout=int(config["Timeout"]),
            memory=int(config["MemorySize"]),
            role_arn=config["Role"],
            environment={k: str(v) for k, v in variables.items()},  # moto keeps numbers as ints
        )
    # The rehearsal is the SQS event source itself (receive a batch, invoke, settle): moto's
    # own would try to run the function in Docker and would take the messages first.
    for function in functions.values():
        mappings = lam.list_event_source_mappings(FunctionName=function.name)
        for mapping in mappings["EventSourceMappings"]:
            function.batch_size = int(mapping["BatchSize"])
            function.reports_failures = "ReportBatchItemFailures" in mapping.get(
                "FunctionResponseTypes", []
            )
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    sts = moto.client("sts")
    iam = moto.client("iam")
    roles = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r.get("ResourceType") == "AWS::IAM::Role"
    }
    _complete_moto_iam(iam, name, template, roles)
    for function in functions.values():
        role_name = function.role_arn.rsplit("/", 1)[-1]
        adapted = moto_equivalents(role_statements(iam, role_name))
        if adapted:
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName="moto-equivalents",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": adapted}),
            )
        session = sts.assume_role(RoleArn=function.role_arn, RoleSessionName=function.name[:64])[
            "Credentials"
        ]
        function.credentials = {
            "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
            "AWS_SESSION_TOKEN": session["SessionToken"],
        }
    return Stack(moto, name, outputs, functions, template)


def _complete_moto_iam(
    iam: Any, stack_name: str, template: dict[str, Any], roles: dict[str, str]
) -> None:
    """Finish what moto's CloudFormation leaves undone, so the roles hold exactly what the
    template gives them: it stores policy documents as Python reprs (its own IAM check cannot
    parse them; stored again as JSON) and does not attach a role's ``ManagedPolicyArns``."""
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        version = iam.get_policy_version(
            PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
        )
        document = _as_json(version["PolicyVersion"]["Document"])
        if document is not None:
            iam.create_policy_version(
                PolicyArn=policy["Arn"], PolicyDocument=document, SetAsDefault=True
            )
    for role_name in roles.values():
        for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            got = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)
            document = _as_json(got["PolicyDocument"])
            if document is not None:
                iam.put_role_policy(
                    RoleName=role_name, PolicyName=policy_name, PolicyDocument=document
                )
    local = {p["PolicyName"]: p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or logical_id not in roles:
            continue
        for wanted in resource["Properties"].get("ManagedPolicyArns", []):
            if isinstance(wanted, dict) and "Ref" in wanted:  # a policy of this stack
                prefix = f"{stack_name}-{wanted['Ref']}-"
                [arn] = [a for n, a in local.items() if n.startswith(prefix)]
            elif isinstance(wanted, dict) and "Fn::Sub" in wanted:
                arn = wanted["Fn::Sub"].replace("${AWS::Partition}", "aws")
            else:
                arn = str(wanted)
            iam.attach_role_policy(RoleName=roles[logical_id], PolicyArn=arn)


def _as_json(document: Any) -> str | None:
    """A policy document moto stored as a Python repr, as JSON; None when it is fine."""
    if not isinstance(document, str):
        return None
    try:
        json.loads(document)
    except ValueError:
        parsed = ast.literal_eval(document)
        parsed.setdefault("Version", "2012-10-17")  # moto refuses what AWS reads as 2008-10-17
        return json.dumps(parsed)
    return None


def role_statements(iam: Any, role_name: str) -> list[dict[str, Any]]:
    """Every Allow statement the role carries: inline policies and attached managed ones."""
    documents = []
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        if policy_name != "moto-equivalents":
            documents.append(
                iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
            )
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(version["PolicyVersion"]["Document"])
    statements = []
    for document in documents:
        if isinstance(document, str):
            document = json.loads(document)
        found = document["Statement"]
        statements += found if isinstance(found, list) else [found]
    return [s for s in statements if s.get("Effect") == "Allow"]


# AWS authorises these batch calls with the single action's permission; moto asks for the
# batch action's own name.
_BATCH_ACTIONS = {
    "sqs:SendMessage": "sqs:SendMessageBatch",
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
}
# Services whose calls moto checks against resource "*" only (no resource from the request).
_UNSCOPED_IN_MOTO = ("events:",)


def moto_equivalents(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements that make moto grant what AWS grants with ``statements``, no more: the same
    actions (batch names added), on ``*`` only where moto cannot see the resource."""
    adapted = []
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        batch = [_BATCH_ACTIONS[a] for a in actions if a in _BATCH_ACTIONS]
        if batch:
            adapted.append({"Effect": "Allow", "Action": batch, "Resource": statement["Resource"]})
        unscoped = [a for a in actions if a.startswith(_UNSCOPED_IN_MOTO)]
        if unscoped:
            adapted.append({"Effect": "Allow", "Action": unscoped, "Resource": "*"})
    return adapted


# ---------------------------------------------------------------------------------------------
# Running a function from the bundle


_RUNNER = r"""
import importlib, json, os, sys, time
bundle, handler = sys.argv[1], sys.argv[2]
sys.path.insert(0, bundle)
deadline = time.monotonic() + int(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"])

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:" + function_name
    aws_request_id = "rehearsal"
    log_group_name = log_stream_name = "rehearsal"
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))

event = json.load(sys.stdin)
module_name, _, function_name = handler.rpartition(".")
try:
    response = getattr(importlib.import_module(module_name), function_name)(event, Context())
    outcome = {"response": response}
except Exception as exc:
    outcome = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
outside = [m.__name__ for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and m.__name__.split(".")[0] in ("handler", "botocore",
           "boto3") and not m.__file__.startswith(bundle)]
outcome["outside_bundle"] = outside
outcome["python"] = "%d.%d" % sys.version_info[:2]
print("@@rehearsal-outcome " + json.dumps(outcome))
"""


@dataclass
class Invocation:
    response: Any
    error: str | None
    emf: list[dict[str, Any]]
    logs: list[dict[str, Any]]
    python: str
    outside_bundle: list[str]


def invoke(moto: Moto, function: Function, event: Any, bundle_dir: Path, python: str) -> Invocation:
    """Run ``function`` from the unpacked bundle as Lambda would, IAM enforcement on."""
    env = {
        **function.environment,
        **function.credentials,
        "AWS_ENDPOINT_URL": moto.endpoint,  # the one stand-in: AWS's endpoints are moto's here
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "LAMBDA_TASK_ROOT": str(bundle_dir),
        "_HANDLER": function.handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/bin:/bin",
    }
    moto.enforce_iam(True)
    try:
        run = subprocess.run(
            [python, "-I", "-S", "-c", _RUNNER, str(bundle_dir), function.handler],
            input=json.dumps(event),
            env=env,
            capture_output=True,
            text=True,
            timeout=function.timeout + 30,
            check=False,
        )
    finally:
        moto.enforce_iam(False)
    outcome_lines = [x for x in run.stdout.splitlines() if x.startswith("@@rehearsal-outcome ")]
    if run.returncode != 0 or not outcome_lines:
        raise RuntimeError(f"{function.logical_id} crashed ({run.returncode}):\n{run.stderr}")
    outcome = json.loads(outcome_lines[0].removeprefix("@@rehearsal-outcome "))
    emf = [json.loads(x) for x in run.stdout.splitlines() if x.startswith('{"_aws"')]
    logs = []
    for line in run.stderr.splitlines():
        with contextlib.suppress(ValueError):
            logs.append(json.loads(line))
    error = None
    if "errorType" in outcome:
        error = f"{outcome['errorType']}: {outcome['errorMessage']}"
    return Invocation(
        outcome.get("response"), error, emf, logs, outcome["python"], outcome["outside_bundle"]
    )


def unpack(bundle_zip: Path, into: Path) -> Path:
    """The bundle unpacked as Lambda unpacks it (mode bits kept: scripts/package.py)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from package import extract_with_modes

    with zipfile.ZipFile(bundle_zip) as archive:
        extract_with_modes(archive, into)
    return into


# ---------------------------------------------------------------------------------------------
# A local stand-in for www.n-tv.de (the feed and article pages)


class _Pages(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes, str]]] = {}

    def do_GET(self) -> None:
        status, body, kind = self.routes.get(self.path, (404, b"not here", "text/plain"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class LocalSite:
    base: str
    routes: dict[str, tuple[int, bytes, str]]

    def article(self, path: str, html: bytes | None) -> str:
        self.routes[path] = (
            (200, html, "text/html; charset=utf-8") if html else (404, b"gone", "text/plain")
        )
        return self.base + path

    def feed(self, titles_by_path: dict[str, str]) -> str:
        items = "".join(
            f"<item><title>{title}</title><link>{self.base}{path}</link>"
            f"<guid>{self.base}{path}</guid><pubDate>Fri, 14 Mar 2025 09:30:05 +0100</pubDate>"
            "</item>"
            for path, title in titles_by_path.items()
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>n-tv.de - Politik</title>{items}</channel></rss>"
        ).encode()
        self.routes["/politik/rss"] = (200, xml, "application/rss+xml; charset=UTF-8")
        return self.base + "/politik/rss"


@contextlib.contextmanager
def local_site() -> Iterator[LocalSite]:
    routes: ClassVar[dict[str, tuple[int, bytes, str]]] = {}
    handler = type("Pages", (_Pages,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield LocalSite(f"http://127.0.0.1:{server.server_address[1]}", routes)
    finally:
        server.shutdown()
        server.server_close()
