"""Shipping: the Dockerfile, the ECS template, the wheel the container installs, and the samples.

No Docker engine runs here, so the container's install path is checked the way its Dockerfile does it:
build the wheel from the same sources, install it with the same constraints into a fresh virtual
environment outside the repository, and use the `digits` command from there.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
TOOLS = Path(sys.executable).parent  # hadolint and cfn-lint come with the test extra, beside pytest
DOCKERFILE = REPO / "Dockerfile"
TEMPLATE = REPO / "deploy" / "ecs-fargate.yaml"
CONSTRAINTS = REPO / "deploy" / "constraints.txt"
SAMPLES = REPO / "samples"
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def run(command, timeout=120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def outside_repo_env(venv: Path) -> dict:
    """The environment of a shell with only `venv` activated: nothing leads back to the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def true_digit(sample: Path) -> int:
    return DIGIT_NAMES.index(sample.name.split("-")[0].split(".")[0])


# --- the Dockerfile ---------------------------------------------------------------------------------


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical, pending = [], ""
    for line in text.splitlines():
        if line.strip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        if (pending + line).strip():
            logical.append(pending + line)
        pending = ""
    stages = []
    for line in logical:
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def builder_copy_sources(builder: list[tuple[str, str]]) -> list[str]:
    return [source for name, args in builder if name == "COPY" for source in args.split()[:-1]]


def context_mounts(stage: list[tuple[str, str]]) -> list[str]:
    """Files that RUN --mount=type=bind takes from the build context (not from another stage)."""
    mounts = [dict(option.split("=", 1) for option in word.removeprefix("--mount=").split(","))
              for name, args in stage if name == "RUN" for word in args.split() if word.startswith("--mount=")]
    return [mount["source"] for mount in mounts if mount.get("type") == "bind" and "from" not in mount]


def test_dockerfile_passes_hadolint():
    result = run([TOOLS / "hadolint", "--no-color", DOCKERFILE])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_lints():
    result = subprocess.run([str(TOOLS / "hadolint"), "--no-color", "-"], input="FROM python:latest\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3007" in result.stdout, result.stdout


def test_runtime_image_is_pinned_non_root_and_healthchecked():
    base, *stages = dockerfile_stages(DOCKERFILE.read_text())
    runtime = stages[-1]
    instructions = [name for name, _ in runtime]
    arguments = {name: " ".join(args for other, args in runtime if other == name) for name in instructions}

    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})? AS \w+", base[0][1]), "base image not pinned"
    assert arguments["USER"].split(":")[0] not in ("root", "0"), "the server must not run as root"
    assert instructions.index("USER") < instructions.index("ENTRYPOINT")
    assert arguments["HEALTHCHECK"].endswith('CMD ["digits", "health"]')
    assert json.loads(arguments["ENTRYPOINT"]) == ["digits"] and json.loads(arguments["CMD"]) == ["serve"]
    assert "EXPOSE" not in instructions, "the uplink dials out; nothing listens"
    assert "PYTHONUNBUFFERED=1" in arguments["ENV"]
    assert "pip install --no-cache-dir --constraint" in arguments["RUN"]
    for stage in (base, *stages):
        for name, args in stage:
            assert not (name in ("ENV", "ARG") and "KEY" in args.upper()), f"secret-looking {name}: {args}"


def test_builder_copies_every_package_and_the_context_lets_them_in():
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    packages = {package.split(".")[0] for package in packages}  # a subpackage travels in its package's folder
    stages = dockerfile_stages(DOCKERFILE.read_text())
    copied = set(builder_copy_sources(stages[1]))
    assert set(packages) <= copied, f"the builder stage does not copy {set(packages) - copied}"

    mounted = set(context_mounts(stages[-1]))
    allowed = {line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}
    needed = copied | mounted
    assert needed <= allowed, f".dockerignore keeps out {needed - allowed}, which the build needs"
    for path in needed:
        assert (REPO / path).exists(), f"the Dockerfile copies {path}, which does not exist"


# --- the CloudFormation template ----------------------------------------------------------------------


class CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !GetAtt and friends as {"Ref": ...}, {"Fn::Sub": ...}."""


def _intrinsic(loader, tag_suffix, node):
    value = (loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
             else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
             else loader.construct_mapping(node))
    return {"Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)


def resources_of_type(template: dict, kind: str) -> list[dict]:
    return [resource["Properties"] for resource in template["Resources"].values() if resource["Type"] == kind]


def test_template_passes_cfn_lint():
    result = run([TOOLS / "cfn-lint", TEMPLATE])
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_really_lints(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  Group:\n    Type: AWS::EC2::SecurityGroup\n"
                      "    Properties:\n      GroupDescription: x\n      IngressRules: []\n")
    result = run([TOOLS / "cfn-lint", broken])
    assert result.returncode != 0 and "E3002" in result.stdout, result.stdout


def test_tasks_take_no_inbound_traffic(template):
    (task,) = resources_of_type(template, "AWS::ECS::Service")
    (group_name,) = task["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    assert "SecurityGroupIngress" not in template["Resources"][group_name["Ref"]]["Properties"]
    assert not resources_of_type(template, "AWS::EC2::SecurityGroupIngress")
    assert not resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")


def test_the_optional_database_takes_postgresql_from_the_tasks_only(template):
    groups = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::EC2::SecurityGroup"}
    database_group = groups["DatabaseSecurityGroup"]
    assert database_group["Condition"] == "CreateDatabase"
    assert database_group["Properties"]["SecurityGroupIngress"] == [{
        "Description": "PostgreSQL from the uplink tasks", "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
        "SourceSecurityGroupId": {"Ref": "TaskSecurityGroup"}}]
    (database,) = resources_of_type(template, "AWS::RDS::DBInstance")
    assert database["Engine"] == "postgres" and database["PubliclyAccessible"] is False
    assert "{{resolve:secretsmanager:" in json.dumps(database["MasterUserPassword"])  # never a parameter
    assert template["Parameters"]["FeedbackDatabase"]["AllowedValues"] == ["sqlite", "rds", "url"]


def test_uplink_key_comes_from_secrets_manager_only(template):
    (task,) = resources_of_type(template, "AWS::ECS::TaskDefinition")
    (container,) = task["ContainerDefinitions"]
    condition, with_database, without = container["Secrets"]["Fn::If"]  # the feedback store's URL is a secret too
    uplink_key = {"Name": "ANVIL_UPLINK_KEY", "ValueFrom": {"Ref": "UplinkKeySecretArn"}}
    assert condition == "SharedDatabase" and without == [uplink_key]
    assert with_database == [uplink_key, {"Name": "DIGITS_DATABASE_URL", "ValueFrom": {
        "Fn::If": ["CreateDatabase", {"Ref": "DatabaseUrlSecret"}, {"Ref": "DatabaseUrlSecretArn"}]}}]
    assert "ANVIL_UPLINK_KEY" not in json.dumps(container.get("Environment", []))
    execution_role = template["Resources"][task["ExecutionRoleArn"]["Fn::GetAtt"].split(".")[0]]
    statements = [s for p in execution_role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [s["Action"] for s in statements] == ["secretsmanager:GetSecretValue"]
    readable = json.dumps(statements[0]["Resource"])
    assert readable.count('{"Ref": "UplinkKeySecretArn"}') == 3  # in every branch, and only secrets


def test_container_is_health_checked_and_stopped_gracefully(template):
    (task,) = resources_of_type(template, "AWS::ECS::TaskDefinition")
    (container,) = task["ContainerDefinitions"]
    assert container["HealthCheck"]["Command"] == ["CMD", "digits", "health"]
    assert container["LinuxParameters"]["InitProcessEnabled"] is True
    assert 10 <= container["StopTimeout"] <= 120  # Fargate's limit is 120 s
    (log_group,) = resources_of_type(template, "AWS::Logs::LogGroup")
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_service_scales_on_cpu_between_parameters(template):
    (target,) = resources_of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == ({"Ref": "MinTasks"}, {"Ref": "MaxTasks"})
    (policy,) = resources_of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert tracking["TargetValue"] == {"Ref": "TargetCpuPercent"}


# --- the wheel and the installed command ----------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built as the Dockerfile's builder stage builds it: from a copy of the sources it copies."""
    source = tmp_path_factory.mktemp("source")
    for name in builder_copy_sources(dockerfile_stages(DOCKERFILE.read_text())[1]):
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("wheels")
    result = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", out, source], timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("digit_classifier-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with only the wheel and its dependencies, at the container's versions."""
    venv = tmp_path_factory.mktemp("venv")
    result = run([sys.executable, "-m", "venv", "--clear", venv])
    assert result.returncode == 0, result.stderr
    result = run([venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check",
                  "--constraint", CONSTRAINTS, wheel], timeout=1200, cwd=venv, env=outside_repo_env(venv))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return venv


@pytest.mark.slow  # builds and installs the wheel
def test_wheel_carries_models_cards_and_reports(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    members = json.loads((REPO / "models" / "ensemble.json").read_text())["weights"]  # cnn, vit and cnn2
    for model in ("cnn", "vit", *members):
        assert f"models/{model}.keras" in names, f"the wheel lacks the trained {model} model"
        assert f"models/{model}.json" in names, f"the wheel lacks the {model} model card"
        assert f"models/{model}.tflite" in names, f"the wheel lacks the {model} LiteRT model the server runs"
    reports = sorted(path.relative_to(REPO).as_posix() for path in (REPO / "models" / "reports").rglob("*")
                     if path.is_file() and "__pycache__" not in path.parts)
    assert reports, "models/reports/ is empty: run `digits report` first"
    missing = [name for name in reports if name not in names]
    assert not missing, f"the wheel lacks {missing}"
    assert "digits/migrations/versions/0001_feedback.py" in names, "the wheel lacks the feedback store's migrations"
    assert "digits/py.typed" in names, "the wheel lacks py.typed: users' type checkers would ignore the API's types"
    assert {"models/digit_scorer.json", "models/digit_scorer.py"} <= names, "the wheel lacks the digit scorer"
    assert {"models/feature_distance.py", "models/digit_scorer_features.tflite",
            "models/digit_scorer_features.npz"} <= names, "the wheel lacks the judge's feature distance"


@pytest.mark.slow  # builds and installs the wheel
def test_installed_feedback_store_migrates_outside_the_repo(installed, tmp_path):
    env = {**outside_repo_env(installed), "DIGITS_DATA_DIR": str(tmp_path / "data")}
    result = run([installed / "bin" / "digits", "feedback", "stats", "--json"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"confirmed": 0, "corrected": 0, "per_model": [], "common_mistakes": []}
    assert (tmp_path / "data" / "feedback.sqlite3").is_file()


@pytest.mark.slow  # builds and installs the wheel
def test_installed_command_classifies_samples_outside_the_repo(installed, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLES, inbox)
    samples = sorted(inbox.iterdir())
    env = outside_repo_env(installed)

    where = run([installed / "bin" / "python", "-c", "import models; print(models.MODELS_DIR)"], cwd=inbox, env=env)
    assert Path(where.stdout.strip()).is_relative_to(installed), f"models came from {where.stdout}{where.stderr}"

    result = run([installed / "bin" / "digits", "classify", "--json", *[s.name for s in samples]],
                 cwd=inbox, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(answers) == len(samples), result.stdout
    for sample, answer in zip(samples, answers):
        assert "error" not in answer, answer
        assert Path(answer["file"]).name == sample.name
        assert answer["model"] == "cnn" and len(answer["probabilities"]) == 10
        assert answer["digit"] == true_digit(sample), f"{sample.name}: read as {answer['digit']}"


@pytest.mark.slow  # builds and installs the wheel
def test_installed_health_check_reads_the_servers_status_file(installed, tmp_path):
    status_file = tmp_path / "status.json"
    env = {**outside_repo_env(installed), "DIGITS_STATUS_FILE": str(status_file)}
    digits = installed / "bin" / "digits"

    missing = run([digits, "health"], cwd=tmp_path, env=env)
    assert missing.returncode != 0 and "no status file" in missing.stdout + missing.stderr, missing

    write_fresh_status = (
        "import os, sys, time\n"
        "from uplink_server.health import ServerStatus, write_status\n"
        "write_status(sys.argv[1], ServerStatus(pid=os.getpid(), state='serving', connected=True,\n"
        "             models=('cnn', 'vit'), calls_in_flight=0, updated_at=time.time()))\n"
    )
    written = run([installed / "bin" / "python", "-c", write_fresh_status, status_file], cwd=tmp_path, env=env)
    assert written.returncode == 0, written.stderr
    healthy = run([digits, "health"], cwd=tmp_path, env=env)
    assert healthy.returncode == 0 and "healthy" in healthy.stdout, healthy

    # The check runs every 30 s inside the serving container: it must not load TensorFlow beside the server.
    light = run([installed / "bin" / "python", "-c",
                 "import sys; from digits.cli import main; code = main(['health']); "
                 "print('tensorflow' in sys.modules); sys.exit(code)"], cwd=tmp_path, env=env)
    assert light.returncode == 0 and light.stdout.strip().endswith("False"), light


SERVE_PATH_IMPORTS = (
    "import sys\n"
    "from digits.cli import main\n"
    "import uplink_server.functions, uplink_server.main\n"
    "code = main(['classify', '--model', 'ensemble', sys.argv[1]])\n"
    "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'training', 'matplotlib'}))\n"
    "sys.exit(code)\n"
)


@pytest.mark.slow  # builds and installs the wheel
def test_serving_install_has_no_tensorflow_and_the_serve_path_runs_without_it(installed, tmp_path):
    env = outside_repo_env(installed)
    python = installed / "bin" / "python"
    for library in ("tensorflow", "keras"):
        missing = run([python, "-c", f"import {library}"], cwd=tmp_path, env=env)
        assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr, f"{library} is installed"

    served = run([python, "-c", SERVE_PATH_IMPORTS, SAMPLES], cwd=tmp_path, env=env, timeout=300)
    assert served.returncode == 0, served.stdout + served.stderr
    assert served.stdout.splitlines()[-1] == "[]", f"the serve path imported {served.stdout.splitlines()[-1]}"
    assert len(served.stdout.splitlines()) == len(list(SAMPLES.iterdir())) + 1


@pytest.mark.slow  # builds and installs the wheel
def test_serving_install_is_small(installed):
    size = sum(path.stat().st_size for path in installed.rglob("*") if path.is_file() and not path.is_symlink())
    assert size < 500 * 2**20, f"the serving virtualenv takes {size / 2**20:.0f} MiB"


@pytest.mark.slow  # builds and installs the wheel
def test_serving_install_says_how_to_get_the_training_tools(installed, tmp_path):
    result = run([installed / "bin" / "digits", "export", "cnn"], cwd=tmp_path, env=outside_repo_env(installed))
    assert result.returncode == 2 and "pip install 'digit-classifier[train]'" in result.stderr, result
    assert "Traceback" not in result.stderr


# --- the samples ----------------------------------------------------------------------------------------


def test_samples_are_what_the_script_makes(mnist_path, tmp_path):
    result = run([sys.executable, REPO / "scripts" / "make_samples.py", "--data", mnist_path, "--out", tmp_path])
    assert result.returncode == 0, result.stderr
    committed = sorted(path.name for path in SAMPLES.iterdir())
    assert sorted(path.name for path in tmp_path.iterdir()) == committed
    for name in committed:
        ours, theirs = SAMPLES / name, tmp_path / name
        if ours.suffix == ".csv":
            assert ours.read_text() == theirs.read_text(), name
            continue
        with Image.open(ours) as a, Image.open(theirs) as b:
            assert (a.format, a.mode, a.size) == (b.format, b.mode, b.size), name
            difference = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))
        tolerance = 1.0 if ours.suffix == ".jpg" else 0.0  # JPEG encoders may round differently
        assert difference.mean() <= tolerance, f"{name} differs from what scripts/make_samples.py makes"
