"""Password policy (R38, ASVS 5.0 6.2): length, common list, context words, demo password."""

import pytest

from docctl.domain.passwords import DEMO_PASSWORD, Rule, common_passwords, refusal
from docctl.errors import ValidationError
from docctl.services import users as users_service
from tests.helpers import PASSWORD, csrf_token

ORG = "Sở Khoa học và Công nghệ tỉnh Mẫu"

REFUSED = [
    ("aaaaaaaa", Rule.TOO_SHORT),
    ("aaaaaaaaaaaa", Rule.REPEATED),
    ("abababababababab", Rule.REPEATED),
    (" " * 9, Rule.BLANK),
    (" " * 20, Rule.BLANK),
    ("\t \u3000  ", Rule.BLANK),
    (DEMO_PASSWORD, Rule.DEMO),
    ("short pass", Rule.TOO_SHORT),
    ("x" * 120 + "yz abcdefg", Rule.TOO_LONG),
    ("123456789012", Rule.COMMON),
    ("matkhau123456", Rule.COMMON),
    ("Matkhau@2024!", Rule.COMMON),
    ("anhyeuem12345", Rule.COMMON),
    ("qwertyuiop123", Rule.COMMON),
    ("Password12345", Rule.COMMON),
    ("1qaz2wsx3edc", Rule.COMMON),
    ("nguyen.van.an 2024", Rule.USERNAME),
    ("NGUYEN-VAN-AN", Rule.USERNAME),
    ("so khoa hoc va cong nghe tinh mau", Rule.ORG_NAME),
    ("Sở Khoa học và Công nghệ tỉnh Mẫu 2025", Rule.ORG_NAME),
    ("khoa học và công nghệ", Rule.ORG_NAME),
]

ACCEPTED = [
    PASSWORD,
    "bốn con mèo ngủ trên mái nhà",
    "Trà đá vỉa hè lúc 5 giờ chiều",
    "tháng chạp mưa phùn 1987",
    "z" * 3 + "correct staple battery",
    "a quiet lake near the old mill, " * 2,          # 64 characters: a passphrase
    "ô" * 60 + " một hai ba bốn năm sáu bảy tám chín mười" + "x" * 27,   # 128
]


@pytest.mark.parametrize(("password", "rule"), REFUSED)
def test_refused_with_the_rule_named(password, rule):
    assert refusal(password, username="nguyen.van.an", org_name=ORG) is rule


@pytest.mark.parametrize("password", ACCEPTED)
def test_accepted(password):
    assert len(password) <= 128
    assert refusal(password, username="nguyen.van.an", org_name=ORG) is None


def test_the_shipped_list_is_several_thousand_words():
    words = common_passwords()
    assert len(words) >= 5000
    assert {"123456", "password", "matkhau123", "123456aa@", "iloveyou"} <= words
    assert all(w == w.lower() and not w.startswith("#") for w in words)


def test_create_user_and_password_change_name_the_rule(app, users, login_as):
    with pytest.raises(ValidationError) as refused:
        users_service.create_user(users["admin"], username="tranthib", display_name="Trần Thị B",
                                  role="staff", password="tranthib2024!!")
    assert refused.value.details["rule"] == "username"
    with pytest.raises(ValidationError) as refused:
        users_service.create_user(None, username="tranthib", display_name="Trần Thị B",
                                  role="staff", password=DEMO_PASSWORD)
    assert refused.value.details["rule"] == "demo"
    created = users_service.create_user(None, username="tranthib", display_name="Trần Thị B",
                                        role="staff", password="x" * 40 + " sông Hồng " * 6)
    assert created.id
    # The change-password page says which rule in the user's language.
    client = login_as("staff")
    client.post("/language", data={"lang": "vi", "csrf_token": csrf_token(client)})
    page = client.post("/account/password", data={
        "csrf_token": csrf_token(client), "current": PASSWORD, "new": "matkhau123456"})
    assert page.status_code == 400
    assert "quá phổ biến" in page.get_data(as_text=True)
    page = client.post("/account/password", data={
        "csrf_token": csrf_token(client), "current": PASSWORD, "new": "           "})
    assert "không được chỉ gồm dấu cách" in page.get_data(as_text=True)


def test_demo_password_only_in_the_demo(app, departments):
    from docctl.models import User
    app.config["ORG_NAME"] = "Sở Thử nghiệm"
    made = users_service.create_user(None, username="demo.user", display_name="Demo",
                                     role="staff", password=DEMO_PASSWORD, demo=True)
    assert isinstance(made, User) and users_service.verify_password(made, DEMO_PASSWORD)
    with pytest.raises(ValidationError):
        users_service.create_user(None, username="demo.user2", display_name="Demo",
                                  role="staff", password=DEMO_PASSWORD)
