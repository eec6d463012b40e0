"""S3 access options and AccessDenied against a moto server that *enforces IAM*.

The export and IAM users/role are created while the server is open, then the server's own
``/moto-api/reset-auth`` endpoint switches IAM enforcement on (INITIAL_NO_AUTH_ACTION_COUNT=0):
from then on every request is authenticated and authorised by moto from the IAM policies, so
AccessDenied comes from the peer, not from the test.
"""

import json

import pytest
import requests

from connectors import aws_cur
from connectors.errors import SourceError
from moto_peer import client, moto_server
from test_aws_cur import BUCKET, NAME, PREFIX, write_export

ROLE = "arn:aws:iam::123456789012:role/billing-reader"


def _policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


READ = {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}


@pytest.fixture(scope="module")
def iam_s3(tmp_path_factory):
    """(endpoint, {user: (key id, secret)}) with the export uploaded and IAM enforced."""
    export = write_export(tmp_path_factory.mktemp("src"), {"2026-10": [[10.0], [20.0, 30.0]]})
    with moto_server() as endpoint:
        s3, iam = client(endpoint), client(endpoint, "iam")
        s3.create_bucket(Bucket=BUCKET)
        for f in export.rglob("*"):
            if f.is_file():
                s3.upload_file(str(f), BUCKET, f"{PREFIX}/{NAME}/{f.relative_to(export)}")
        policies = {
            "reader": _policy(READ),
            # may list and assume the role, but reading objects is denied explicitly
            "lister": _policy({"Effect": "Allow", "Action": ["s3:ListBucket", "sts:AssumeRole"], "Resource": "*"},
                              {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}),
            "nobody": _policy({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}),
        }
        keys = {}
        for user, doc in policies.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc)
            k = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
        trust = _policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/lister"},
                         "Action": "sts:AssumeRole"})
        iam.create_role(RoleName="billing-reader", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName="billing-reader", PolicyName="read", PolicyDocument=_policy(READ))
        assert requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).ok
        try:
            yield endpoint, keys
        finally:
            # the setting is process-wide in moto: give other tests their open server back
            requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)


@pytest.fixture
def profiles(iam_s3, tmp_path, monkeypatch):
    """A shared-credentials file with one profile per IAM user (what `profile:` names)."""
    _, keys = iam_s3
    creds = tmp_path / "credentials"
    creds.write_text("".join(f"[{u}]\naws_access_key_id = {k}\naws_secret_access_key = {s}\n\n"
                             for u, (k, s) in keys.items()))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    return iam_s3[0]


URI = f"s3://{BUCKET}/{PREFIX}/{NAME}"


def _rows(s3) -> int:
    (p,) = aws_cur.discover(URI, s3_client=s3)
    return aws_cur.read_period(p, s3_client=s3).num_rows


def test_profile_selects_the_credentials(profiles):
    assert _rows(aws_cur.s3_client(profile="reader", endpoint_url=profiles)) == 3


def test_access_denied_names_the_object(profiles):
    s3 = aws_cur.s3_client(profile="lister", endpoint_url=profiles)
    manifest = f"{URI}/metadata/BILLING_PERIOD=2026-10/{NAME}-Manifest.json"
    with pytest.raises(SourceError, match=rf"^aws_cur: {manifest}: S3 AccessDenied"):
        aws_cur.discover(URI, s3_client=s3)
    s3 = aws_cur.s3_client(profile="nobody", endpoint_url=profiles)
    with pytest.raises(SourceError, match=rf"^aws_cur: {URI}/metadata/: S3 AccessDenied"):
        aws_cur.discover(URI, s3_client=s3)


def test_role_arn_is_assumed_through_sts(profiles):
    # the lister cannot read objects itself; the role it assumes can
    assert _rows(aws_cur.s3_client(profile="lister", role_arn=ROLE, endpoint_url=profiles)) == 3
    with pytest.raises(SourceError, match=rf"^aws_cur_legacy: {ROLE}: STS AssumeRole AccessDenied"):
        aws_cur.s3_client(profile="nobody", role_arn=ROLE, endpoint_url=profiles, source="aws_cur_legacy")
    with pytest.raises(SourceError, match=r"^aws_cur: profile 'no-such-profile': AWS profile unusable"):
        aws_cur.s3_client(profile="no-such-profile", endpoint_url=profiles)
