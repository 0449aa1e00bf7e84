"""Field types without a database: validation, conversion both ways, PostgreSQL types.

Every field is exercised through the three entry points the ORM uses:
``get_db_prep_value`` (what is bound), ``to_python`` (what a user value becomes)
and ``from_db`` (what a value read back becomes, for the fields that convert).
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import enum
import ipaddress
import pickle
import uuid

import pytest
from psycopg.types.json import Jsonb

from matrx_orm import (
    ArrayField,
    AutoField,
    BigAutoField,
    BigIntegerField,
    BinaryField,
    BooleanArrayField,
    BooleanField,
    CharField,
    ConfigurationError,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    FloatField,
    ForeignKey,
    HStoreField,
    IntegerArrayField,
    IntegerField,
    IPAddressField,
    IPNetworkField,
    JSONBArrayField,
    JSONBField,
    JSONField,
    MacAddressField,
    Model,
    MoneyField,
    PointField,
    SmallIntegerField,
    TextArrayField,
    TextField,
    TimeDeltaField,
    TimeField,
    UUIDArrayField,
    UUIDField,
    ValidationError,
)
from matrx_orm.core.fields import NOT_PROVIDED


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class FieldOwner(Model):
    """One field of each type, bound to a model so errors can name model and field."""

    id = AutoField()
    f_int = IntegerField(null=False)
    f_small = SmallIntegerField()
    f_big = BigIntegerField()
    f_float = FloatField()
    f_decimal = DecimalField(max_digits=5, decimal_places=2)
    f_bool = BooleanField()
    f_char = CharField(max_length=3)
    f_text = TextField()
    f_uuid = UUIDField()
    f_dt = DateTimeField()
    f_naive = DateTimeField(timezone=False)
    f_date = DateField()
    f_time = TimeField()
    f_json = JSONField()
    f_jsonb = JSONBField()
    f_array = ArrayField(IntegerField())
    f_text_array = TextArrayField()
    f_int_array = IntegerArrayField()
    f_bool_array = BooleanArrayField()
    f_uuid_array = UUIDArrayField()
    f_jsonb_array = JSONBArrayField()
    f_enum = EnumField(enum_class=Mood)
    f_choice = EnumField(choices=["a", "b"])
    f_ip = IPAddressField()
    f_net = IPNetworkField()
    f_mac = MacAddressField()
    f_hstore = HStoreField()
    f_point = PointField()
    f_money = MoneyField()
    f_binary = BinaryField()
    f_interval = TimeDeltaField()

    _database = "level1"


F = FieldOwner._meta.fields


def rejects(name: str, value: object, *fragments: str) -> ValidationError:
    """Assert the field refuses ``value`` with a message naming model, field and value."""
    with pytest.raises(ValidationError) as info:
        F[name].get_db_prep_value(value)
    err = info.value
    assert err.model == "FieldOwner"
    assert err.details["field"] == name
    assert f"FieldOwner.{name}" in err.message
    assert repr(value)[:50] in err.message
    for fragment in fragments:
        assert fragment in err.message
    return err


# -- PostgreSQL types ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "db_type"),
    [
        ("id", "INTEGER"),
        ("f_int", "INTEGER"),
        ("f_small", "SMALLINT"),
        ("f_big", "BIGINT"),
        ("f_float", "DOUBLE PRECISION"),
        ("f_decimal", "NUMERIC(5, 2)"),
        ("f_bool", "BOOLEAN"),
        ("f_char", "VARCHAR(3)"),
        ("f_text", "TEXT"),
        ("f_uuid", "UUID"),
        ("f_dt", "TIMESTAMPTZ"),
        ("f_naive", "TIMESTAMP"),
        ("f_date", "DATE"),
        ("f_time", "TIME"),
        ("f_json", "JSONB"),
        ("f_jsonb", "JSONB"),
        ("f_array", "INTEGER[]"),
        ("f_text_array", "TEXT[]"),
        ("f_int_array", "INTEGER[]"),
        ("f_bool_array", "BOOLEAN[]"),
        ("f_uuid_array", "UUID[]"),
        ("f_jsonb_array", "JSONB[]"),
        ("f_enum", "VARCHAR(50)"),
        ("f_ip", "INET"),
        ("f_net", "CIDR"),
        ("f_mac", "MACADDR"),
        ("f_hstore", "HSTORE"),
        ("f_point", "POINT"),
        ("f_money", "MONEY"),
        ("f_binary", "BYTEA"),
        ("f_interval", "INTERVAL"),
    ],
)
def test_db_types(name: str, db_type: str) -> None:
    assert F[name].db_type == db_type


def test_decimal_without_precision_is_plain_numeric() -> None:
    assert DecimalField().db_type == "NUMERIC"


def test_big_auto_field_is_bigint_primary_key() -> None:
    field = BigAutoField()
    assert field.primary_key and field.db_type == "BIGINT" and field.null is False


# -- common parameters ---------------------------------------------------------------
def test_common_parameters_defaults_follow_spec() -> None:
    field = UUIDField()
    assert (field.primary_key, field.null, field.unique, field.default, field.index) == (
        False, True, False, NOT_PROVIDED, False,
    )
    assert not field.has_default()


def test_primary_key_is_never_nullable() -> None:
    assert UUIDField(primary_key=True, null=True).null is False


def test_callable_default_is_called_each_time() -> None:
    field = UUIDField(default=uuid.uuid4)
    assert field.get_default() != field.get_default()


def test_mutable_default_is_copied() -> None:
    field = JSONField(default={"a": []})
    first = field.get_default()
    first["b"] = 1
    assert field.get_default() == {"a": []}


def test_uuid_primary_key_defaults_to_uuid4() -> None:
    assert not F["f_uuid"].has_default()  # only a UUID primary key gets uuid4
    assert isinstance(UUIDField(primary_key=True).get_default(), uuid.UUID)


def test_not_provided_survives_copy_and_pickle() -> None:
    assert copy.copy(NOT_PROVIDED) is NOT_PROVIDED
    assert copy.deepcopy(NOT_PROVIDED) is NOT_PROVIDED
    assert pickle.loads(pickle.dumps(NOT_PROVIDED)) is NOT_PROVIDED
    assert not copy.deepcopy(TextField()).has_default()


def test_not_null_is_enforced_and_nullable_accepts_none() -> None:
    rejects("f_int", None, "NULL is not allowed")
    assert F["f_text"].get_db_prep_value(None) is None


# -- integers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("f_int", -(2**31), 2**31 - 1), ("f_small", -(2**15), 2**15 - 1), ("f_big", -(2**63), 2**63 - 1)],
)
def test_integer_ranges(name: str, low: int, high: int) -> None:
    assert F[name].get_db_prep_value(low) == low
    assert F[name].get_db_prep_value(high) == high
    rejects(name, high + 1, "out of range")
    rejects(name, low - 1, "out of range")


@pytest.mark.parametrize("value", [True, False])
def test_bools_are_not_integers(value: bool) -> None:
    rejects("f_int", value, "not a bool")
    rejects("f_float", value, "not a bool")
    rejects("f_decimal", value, "not a bool")


def test_integer_conversions() -> None:
    field = F["f_int"]
    assert field.get_db_prep_value("12") == 12
    assert field.get_db_prep_value(" 7 ") == 7
    assert field.get_db_prep_value(3.0) == 3
    assert field.get_db_prep_value(decimal.Decimal("4")) == 4
    rejects("f_int", "1.5", "expected an integer")
    rejects("f_int", 3.5, "expected an integer")
    rejects("f_int", "abc", "expected an integer")
    rejects("f_int", [1], "expected an integer")


def test_float_and_decimal() -> None:
    assert F["f_float"].get_db_prep_value("1.5") == 1.5
    assert F["f_float"].get_db_prep_value(2) == 2.0
    rejects("f_float", "abc")
    assert F["f_decimal"].get_db_prep_value("123.45") == decimal.Decimal("123.45")
    assert F["f_decimal"].get_db_prep_value(1.1) == decimal.Decimal("1.1")  # repr, not binary noise
    rejects("f_decimal", "1234.5", "digits before the decimal point")
    rejects("f_decimal", "abc", "expected a decimal")


# -- booleans and text ------------------------------------------------------------------
@pytest.mark.parametrize("value", [1, 0, "true", "false", 1.0])
def test_booleans_accept_only_bools(value: object) -> None:
    rejects("f_bool", value, "expected a bool")


def test_boolean_accepts_bools() -> None:
    assert F["f_bool"].get_db_prep_value(False) is False
    assert F["f_bool"].get_db_prep_value(True) is True


def test_char_max_length() -> None:
    assert F["f_char"].get_db_prep_value("abc") == "abc"
    err = rejects("f_char", "abcd", "max_length=3")
    assert err.details["value"] == "'abcd'"


def test_text_has_no_max_length_but_rejects_nul() -> None:
    assert F["f_text"].get_db_prep_value("x" * 100_000) == "x" * 100_000
    rejects("f_text", "a\x00b", "NUL")


def test_char_conversions() -> None:
    assert F["f_char"].get_db_prep_value(12) == "12"
    assert F["f_char"].get_db_prep_value(Mood.SAD) == "sad"
    rejects("f_char", b"ab", "expected a string")
    rejects("f_char", ["x"], "expected a string")


# -- enums ---------------------------------------------------------------------------------
def test_enum_field_with_enum_class() -> None:
    field = F["f_enum"]
    assert field.get_db_prep_value("happy") == "happy"
    assert field.get_db_prep_value(Mood.SAD) == "sad"
    assert field.to_python("happy") is Mood.HAPPY
    assert field.needs_conversion and field.from_db("sad") is Mood.SAD
    rejects("f_enum", "angry", "not one of ['happy', 'sad']")


def test_enum_field_with_choices() -> None:
    field = F["f_choice"]
    assert field.get_db_prep_value("a") == "a"
    assert field.to_python("b") == "b"
    assert not field.needs_conversion
    rejects("f_choice", "c", "not one of ['a', 'b']")


def test_enum_field_needs_enum_or_choices() -> None:
    with pytest.raises(ConfigurationError):
        EnumField()


# -- UUID ------------------------------------------------------------------------------------
def test_uuid_accepts_strings_and_uuids() -> None:
    value = uuid.uuid4()
    assert F["f_uuid"].get_db_prep_value(str(value)) == value
    assert F["f_uuid"].get_db_prep_value(value) is value
    assert F["f_uuid"].get_db_prep_value(value.bytes) == value
    rejects("f_uuid", "not-a-uuid", "not a valid UUID")
    rejects("f_uuid", 5, "not a valid UUID")


# -- dates and times -------------------------------------------------------------------------
def test_datetime_parses_iso_strings() -> None:
    field = F["f_dt"]
    assert field.get_db_prep_value("2024-01-02T03:04:05Z") == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert field.get_db_prep_value("2024-01-02T03:04:05+02:00").utcoffset() == dt.timedelta(hours=2)
    assert field.get_db_prep_value("2024-01-02 03:04:05") == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert field.get_db_prep_value(dt.date(2024, 1, 2)) == dt.datetime(2024, 1, 2)
    rejects("f_dt", "garbage", "ISO-8601")
    rejects("f_dt", 5, "expected a datetime")


def test_naive_timestamp_stores_utc_wall_time_of_aware_values() -> None:
    # Without this the session's TimeZone setting would decide what TIMESTAMP holds.
    field = F["f_naive"]
    assert field.get_db_prep_value("2024-01-02T03:04:05+02:00") == dt.datetime(2024, 1, 2, 1, 4, 5)
    aware = dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert field.get_db_prep_value(aware) == dt.datetime(2024, 1, 2, 1, 30)
    assert field.get_db_prep_value(dt.datetime(2024, 1, 2, 3, 4)) == dt.datetime(2024, 1, 2, 3, 4)
    assert F["f_dt"].get_db_prep_value(aware) is aware  # TIMESTAMPTZ keeps the instant as given


def test_datetime_now_matches_timezone_flavour() -> None:
    assert F["f_dt"].now().tzinfo is not None
    assert F["f_naive"].now().tzinfo is None


def test_date_and_time() -> None:
    assert F["f_date"].get_db_prep_value("2024-01-02") == dt.date(2024, 1, 2)
    assert F["f_date"].get_db_prep_value(dt.datetime(2024, 1, 2, 5)) == dt.date(2024, 1, 2)
    rejects("f_date", "2024-13-02", "ISO-8601")
    assert F["f_time"].get_db_prep_value("10:11:12") == dt.time(10, 11, 12)
    rejects("f_time", "25:00", "ISO-8601")


def test_interval() -> None:
    assert F["f_interval"].get_db_prep_value(90) == dt.timedelta(seconds=90)
    assert F["f_interval"].get_db_prep_value(dt.timedelta(days=1)) == dt.timedelta(days=1)
    rejects("f_interval", "1 day", "expected a timedelta")


# -- JSON -------------------------------------------------------------------------------------
def test_json_values_are_wrapped_for_jsonb() -> None:
    prepared = F["f_json"].get_db_prep_value({"a": [1, 2]})
    assert isinstance(prepared, Jsonb) and prepared.obj == {"a": [1, 2]}
    for value in ("text", 3, 1.5, True, [1, {"x": None}]):
        assert F["f_jsonb"].get_db_prep_value(value).obj == value


def test_json_must_be_serialisable() -> None:
    rejects("f_json", {"a": object()}, "not JSON-serialisable")
    rejects("f_json", {"a": float("nan")}, "not JSON-serialisable")


# -- arrays -------------------------------------------------------------------------------------
def test_array_items_are_converted_and_validated() -> None:
    assert F["f_array"].get_db_prep_value([1, "2", None]) == [1, 2, None]
    assert F["f_array"].get_db_prep_value((1, 2)) == [1, 2]
    with pytest.raises(ValidationError) as info:
        F["f_array"].get_db_prep_value([1, "x"])
    assert "FieldOwner.f_array[]" in info.value.message and "'x'" in info.value.message
    with pytest.raises(ValidationError):
        F["f_int_array"].get_db_prep_value([True])
    with pytest.raises(ValidationError):
        F["f_int_array"].get_db_prep_value([2**31])
    rejects("f_array", "abc", "expected a list")
    rejects("f_array", {"a": 1}, "expected a list")


def test_typed_array_fields() -> None:
    assert F["f_text_array"].get_db_prep_value(["a", 1]) == ["a", "1"]
    assert F["f_bool_array"].get_db_prep_value([True, None]) == [True, None]
    with pytest.raises(ValidationError):
        F["f_bool_array"].get_db_prep_value([1])
    value = uuid.uuid4()
    assert F["f_uuid_array"].get_db_prep_value([str(value)]) == [value]
    prepared = F["f_jsonb_array"].get_db_prep_value([{"a": 1}, None])
    assert isinstance(prepared[0], Jsonb) and prepared[1] is None


def test_array_needs_an_item_field() -> None:
    with pytest.raises(ConfigurationError):
        ArrayField()
    assert ArrayField(item_type=TextField).db_type == "TEXT[]"


# -- network ------------------------------------------------------------------------------------
def test_ip_network_mac() -> None:
    assert F["f_ip"].get_db_prep_value("10.0.0.1") == ipaddress.ip_address("10.0.0.1")
    assert F["f_ip"].get_db_prep_value("::1") == ipaddress.ip_address("::1")
    assert F["f_ip"].get_db_prep_value("10.0.0.1/24") == ipaddress.ip_interface("10.0.0.1/24")
    rejects("f_ip", "nope", "not an IP address")
    assert F["f_net"].get_db_prep_value("10.0.0.0/8") == ipaddress.ip_network("10.0.0.0/8")
    rejects("f_net", "10.0.0.1/8", "not a CIDR network")
    assert F["f_mac"].get_db_prep_value("AA-BB-CC-DD-EE-FF") == "aa:bb:cc:dd:ee:ff"
    assert F["f_mac"].get_db_prep_value("aabb.ccdd.eeff") == "aa:bb:cc:dd:ee:ff"
    rejects("f_mac", "zz", "not a MAC address")


# -- hstore / point / money / binary (converted both ways) -----------------------------------------
def test_hstore_round_trip_through_text() -> None:
    field = F["f_hstore"]
    value = {"a": "1", "b": None, 'q"x': "a\\b", "k=>v": "c, d"}
    text = field.get_db_prep_value(value)
    assert text == '"a"=>"1", "b"=>NULL, "q\\"x"=>"a\\\\b", "k=>v"=>"c, d"'
    assert field.needs_conversion
    assert field.from_db(text) == value
    assert field.from_db('"a"=>"1", "b"=>NULL') == {"a": "1", "b": None}
    assert field.from_db({"already": "dict"}) == {"already": "dict"}
    assert field.from_db("") == {}
    rejects("f_hstore", {"a": 1}, "must be strings")
    rejects("f_hstore", ["a"], "expected a dict")


def test_point_conversions() -> None:
    field = F["f_point"]
    assert field.get_db_prep_value((1, 2)) == "(1.0,2.0)"
    assert field.get_db_prep_value("(1.5, -2)") == "(1.5,-2.0)"
    assert field.from_db("(1,2)") == (1.0, 2.0)
    assert field.from_db("(-1.5,2e3)") == (-1.5, 2000.0)
    rejects("f_point", "x", "not a point")
    rejects("f_point", (1, 2, 3), "expected an (x, y) pair")
    rejects("f_point", ("a", 1), "must be numbers")


def test_money_conversions() -> None:
    field = F["f_money"]
    assert field.get_db_prep_value("12.34") == "12.34"
    assert field.get_db_prep_value(decimal.Decimal("5")) == "5"
    assert field.from_db("$1,234.50") == decimal.Decimal("1234.50")
    assert field.from_db("-$1,234.50") == decimal.Decimal("-1234.50")
    assert field.from_db("($5.00)") == decimal.Decimal("-5.00")
    assert field.from_db(decimal.Decimal("3.10")) == decimal.Decimal("3.10")
    rejects("f_money", "abc", "expected a decimal")


def test_binary_conversions() -> None:
    field = F["f_binary"]
    assert field.get_db_prep_value(b"ab") == b"ab"
    assert field.get_db_prep_value(bytearray(b"x")) == b"x"
    assert field.from_db(memoryview(b"z")) == b"z"
    rejects("f_binary", "str", "expected bytes")


# -- conversion flags -------------------------------------------------------------------------------
def test_only_fields_that_need_it_convert_on_read() -> None:
    converting = {f.name for _, f in FieldOwner._meta.converting_fields()}
    assert converting == {"f_enum", "f_hstore", "f_point", "f_money", "f_binary"}


def test_to_python_is_the_user_side_conversion() -> None:
    assert F["f_int"].to_python("5") == 5
    assert F["f_uuid"].to_python("12345678-1234-5678-1234-567812345678") == uuid.UUID(
        "12345678-1234-5678-1234-567812345678"
    )
    assert F["f_point"].to_python("(1,2)") == (1.0, 2.0)


def test_lookup_values_allow_null_and_validate_type() -> None:
    assert F["f_int"].get_lookup_value(None) is None
    assert F["f_int"].get_lookup_value("3") == 3
    with pytest.raises(ValidationError):
        F["f_int"].get_lookup_value("x")


# -- foreign keys ------------------------------------------------------------------------------------
class FkTarget(Model):
    id = UUIDField(primary_key=True)
    code = CharField(max_length=5, unique=True)
    _database = "level1"


class FkSource(Model):
    id = AutoField()
    target_id = ForeignKey("FkTarget", "id")
    by_code = ForeignKey("FkTarget", to_field="code")
    _database = "level1"


def test_foreign_key_takes_type_and_validation_of_target() -> None:
    fk = FkSource._meta.fields["target_id"]
    assert fk.db_type == "UUID"
    assert FkSource._meta.fields["by_code"].db_type == "VARCHAR(5)"
    value = uuid.uuid4()
    assert fk.get_db_prep_value(str(value)) == value
    with pytest.raises(ValidationError) as info:
        fk.get_db_prep_value("nope")
    assert "FkSource.target_id" in info.value.message and "'nope'" in info.value.message
    with pytest.raises(ValidationError):
        FkSource._meta.fields["by_code"].get_db_prep_value("toolong")


def test_foreign_key_accepts_an_instance() -> None:
    target = FkTarget(code="abc")
    assert FkSource._meta.fields["target_id"].get_db_prep_value(target) == target.id
    assert FkSource._meta.fields["by_code"].get_db_prep_value(target) == "abc"


def test_foreign_key_relation_name() -> None:
    assert FkSource._meta.fields["target_id"].relation_name == "target"
    assert FkSource._meta.fields["by_code"].relation_name == "by_code"


def test_foreign_key_rejects_unknown_on_delete() -> None:
    with pytest.raises(ConfigurationError):
        ForeignKey("FkTarget", on_delete="EXPLODE")
