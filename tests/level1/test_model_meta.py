"""Model metadata and pure instance behaviour, without a database."""

from __future__ import annotations

import uuid

import pytest

import matrx_orm
import matrx_orm_sync
from matrx_orm import (
    AutoField,
    BooleanField,
    CharField,
    ConfigurationError,
    DateTimeField,
    FieldError,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    UUIDField,
    ValidationError,
)
from matrx_orm.core.naming import quote_ident, snake_case
from matrx_orm.core.registry import get_meta, resolve_meta


class AccountProfile(Model):
    id = UUIDField(primary_key=True)
    handle = CharField(max_length=10, null=False)
    bio = TextField(null=True)
    is_public = BooleanField(default=True)
    karma = IntegerField(default=0)

    _database = "level1"


class AnalyticsEvent(Model):
    id = AutoField()
    kind = CharField(max_length=20, db_column="event kind")

    _table_name = "events"
    _db_schema = "analytics"
    _database = "level1"
    _unfetchable = True
    _cache_timeout = 30


class TeamSeat(Model):
    team = CharField(max_length=20)
    seat = IntegerField()
    holder = CharField(max_length=20, null=True)

    _primary_keys = ["team", "seat"]
    _database = "level1"


class StampedBase(Model):
    """Abstract: shared columns and behaviour, no table."""

    created_at = DateTimeField(auto_now_add=True)
    note = TextField(null=True)

    _abstract = True
    _database = "level1"
    _db_schema = "audit"

    def describe(self) -> str:
        return f"{type(self).__name__}:{self.note}"

    @property
    def loud_note(self) -> str:
        return (self.note or "").upper()


class StampedThing(StampedBase):
    id = AutoField()
    name = CharField(max_length=20)


class OtherStampedThing(StampedBase):
    id = UUIDField(primary_key=True)
    note = CharField(max_length=5, null=True)  # overrides the inherited field


# -- names ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "snake"),
    [("User", "user"), ("UserProfile", "user_profile"), ("HTTPRequestLog", "http_request_log"), ("Post2Tag", "post2_tag")],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_table_name_defaults_to_snake_case() -> None:
    meta = AccountProfile._meta
    assert meta.table_name == "account_profile"
    assert meta.quoted_table == '"account_profile"'
    assert meta.db_schema is None and meta.database == "level1"
    assert meta.key == ("level1", None, "account_profile")


def test_explicit_table_schema_and_options() -> None:
    meta = AnalyticsEvent._meta
    assert meta.table_name == "events" and meta.db_schema == "analytics"
    assert meta.quoted_table == '"analytics"."events"'
    assert meta.label == "analytics.events"
    assert meta.unfetchable is True and meta.cache_timeout == 30
    assert meta.quoted_columns == {"id": '"id"', "kind": '"event kind"'}
    assert meta.field("event kind") is meta.fields["kind"]  # column names resolve too


def test_quote_ident() -> None:
    assert quote_ident("user") == '"user"'
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("50%") == '"50%%"'
    assert quote_ident("s", "t") == '"s"."t"'


def test_fields_keep_declaration_order() -> None:
    assert AccountProfile._meta.field_names == ("id", "handle", "bio", "is_public", "karma")
    assert AccountProfile._meta.select_list == '"id", "handle", "bio", "is_public", "karma"'


# -- keys -------------------------------------------------------------------------------------
def test_single_primary_key() -> None:
    meta = AccountProfile._meta
    assert meta.pk_names == ("id",)
    assert meta.field("pk") is meta.fields["id"]


def test_composite_primary_keys() -> None:
    meta = TeamSeat._meta
    assert meta.pk_names == ("team", "seat")
    assert all(f.primary_key and f.null is False for f in meta.pk_fields)
    seat = TeamSeat(team="red", seat=3)
    assert seat.pk == ("red", 3)
    assert seat.pk_filter() == {"team": "red", "seat": 3}


def test_primary_keys_must_name_fields() -> None:
    with pytest.raises(ConfigurationError):

        class BadKeys(Model):
            a = IntegerField()
            _primary_keys = ["a", "b"]
            _database = "level1"


def test_reserved_field_names() -> None:
    with pytest.raises(ConfigurationError):

        class BadName(Model):
            pk = IntegerField()
            _database = "level1"


# -- abstract bases ---------------------------------------------------------------------------------
def test_abstract_base_fields_are_inherited_as_copies() -> None:
    meta = StampedThing._meta
    assert meta.field_names == ("created_at", "note", "id", "name")
    assert meta.fields["note"] is not StampedBase._meta.fields["note"]
    assert meta.fields["note"].model_name == "StampedThing"
    assert meta.table_name == "stamped_thing" and meta.db_schema == "audit" and meta.database == "level1"
    assert meta.abstract is False and StampedBase._meta.abstract is True


def test_abstract_base_defaults_survive_inheritance() -> None:
    thing = StampedThing(name="x")
    assert thing.note is None and thing.created_at is None
    assert not StampedThing._meta.fields["note"].has_default()


def test_subclass_can_override_an_inherited_field() -> None:
    meta = OtherStampedThing._meta
    assert type(meta.fields["note"]).__name__ == "CharField"
    with pytest.raises(ValidationError):
        OtherStampedThing(note="too long")


def test_abstract_models_are_not_registered_or_instantiable() -> None:
    assert get_meta("StampedBase") is None
    assert get_meta("StampedThing") is StampedThing._meta
    with pytest.raises(ConfigurationError):
        StampedBase()


def test_methods_and_properties_of_the_base_work() -> None:
    thing = StampedThing(name="x", note="hi")
    assert thing.describe() == "StampedThing:hi" and thing.loud_note == "HI"


# -- twins --------------------------------------------------------------------------------------------
def test_twins_share_metadata() -> None:
    sync_cls = AccountProfile.sync
    assert sync_cls._meta is AccountProfile._meta
    assert sync_cls.aio is AccountProfile
    assert AccountProfile.aio is AccountProfile
    assert sync_cls.sync is sync_cls
    assert AccountProfile.sync is sync_cls  # created once
    assert issubclass(sync_cls, matrx_orm_sync.Model) and not issubclass(sync_cls, matrx_orm.Model)
    assert sync_cls.__name__ == "AccountProfile"


def test_twin_of_a_subclass_keeps_inherited_behaviour() -> None:
    sync_cls = StampedThing.sync
    assert sync_cls._meta is StampedThing._meta
    thing = sync_cls(name="y", note="yo")
    assert thing.describe() == "StampedThing:yo" and thing.loud_note == "YO"
    assert issubclass(sync_cls, StampedBase.sync)


def test_twin_instances_compare_equal() -> None:
    key = uuid.uuid4()
    assert AccountProfile(id=key, handle="a") == AccountProfile.sync(id=key, handle="b")
    assert hash(AccountProfile(id=key, handle="a")) == hash(AccountProfile.sync(id=key, handle="b"))
    assert AccountProfile(id=key, handle="a") != AccountProfile(id=uuid.uuid4(), handle="a")


# -- instances -------------------------------------------------------------------------------------------
def test_construction_applies_defaults_and_validates() -> None:
    profile = AccountProfile(handle="al")
    assert isinstance(profile.id, uuid.UUID)
    assert profile.is_public is True and profile.karma == 0 and profile.bio is None
    assert profile.to_dict() == {"id": profile.id, "handle": "al", "bio": None, "is_public": True, "karma": 0}
    assert profile.to_dict(fields=["handle"]) == {"handle": "al"}
    with pytest.raises(ValidationError):
        AccountProfile(handle="x" * 11)
    with pytest.raises(ValidationError):
        AccountProfile(handle="ok", karma="many")


def test_construction_rejects_unknown_fields_naming_model_field_value() -> None:
    with pytest.raises(FieldError) as info:
        AccountProfile(handle="al", nickname="Al")
    err = info.value
    assert err.model == "AccountProfile" and err.details == {"field": "nickname", "value": "'Al'"}
    assert "nickname" in err.message and "'Al'" in err.message


def test_repr_is_readable() -> None:
    key = uuid.UUID(int=7)
    assert repr(AccountProfile(id=key, handle="al")) == (
        f"<AccountProfile id={key!r} handle='al' bio=None is_public=True>"
    )
    long = AccountProfile(id=key, handle="al", bio="x" * 100)
    assert "x" * 100 not in repr(long) and "..." in repr(long)


def test_foreign_key_target_resolves_lazily_by_name() -> None:
    class SeatNote(Model):
        id = AutoField()
        profile_id = ForeignKey("AccountProfile")
        _database = "level1"

    assert resolve_meta("AccountProfile", SeatNote._meta, "x") is AccountProfile._meta
    assert SeatNote._meta.fields["profile_id"].db_type == "UUID"
    with pytest.raises(ConfigurationError):
        resolve_meta("NoSuchModel", SeatNote._meta, "SeatNote.x")


def test_null_primary_key_on_insert_means_generate_it_or_is_refused() -> None:
    from matrx_orm.core.model_meta import field_values_for_insert

    generated = field_values_for_insert(AccountProfile._meta, {"id": None, "handle": "al"})
    assert isinstance(generated["id"], uuid.UUID)  # the implicit uuid4 default
    assert "id" not in field_values_for_insert(AnalyticsEvent._meta, {"id": None, "kind": "k"})  # identity
    with pytest.raises(ValidationError) as info:
        field_values_for_insert(TeamSeat._meta, {"team": None, "seat": 1})
    assert "TeamSeat.team" in info.value.message and "primary key" in info.value.message


class SuperCaller(StampedBase):
    """Overrides that call super(), as users write them."""

    id = AutoField()

    def to_dict(self, *, fields: list[str] | None = None) -> dict[str, object]:
        data = super().to_dict(fields=fields)
        data["kind"] = "super"
        return data

    def describe(self) -> str:
        return "child+" + super().describe()

    @property
    def loud_note(self) -> str:
        return super().loud_note + "!"


def test_super_calls_work_in_both_twins() -> None:
    for cls in (SuperCaller, SuperCaller.sync):
        obj = cls(note="hey")
        assert obj.to_dict()["kind"] == "super" and obj.to_dict()["note"] == "hey"
        assert obj.describe() == "child+SuperCaller:hey"
        assert obj.loud_note == "HEY!"



def test_write_keywords_accept_relation_names_and_check_the_instance_model() -> None:
    from tests.models_relations_async import RelPost, RelTag, RelUser

    meta = RelPost._meta
    assert meta.write_field("author").name == "author_id"
    assert meta.write_field("pk").name == "id"
    with pytest.raises(FieldError, match="RelPost has no field 'writer'"):
        meta.write_field("writer")
    user = RelUser(id=uuid.uuid4(), username="u")
    post = RelPost(title="t", author=user)
    assert post.author_id == user.id and post.author is user
    # The sync twin of the target is the same table: accepted.
    from tests.models_relations_sync import RelUser as SyncRelUser

    assert RelPost(title="t", author=SyncRelUser(id=user.id, username="u")).author_id == user.id
    with pytest.raises(ValidationError, match=r"RelPost\.author_id: expected a RelUser instance or key, not a RelTag"):
        RelPost(title="t", author=RelTag(name="x"))


def test_two_keywords_for_one_field_are_refused() -> None:
    from matrx_orm import ParameterError
    from matrx_orm.core.model_meta import field_values_for_insert
    from matrx_orm.core.write_prep import prepare_update_values
    from tests.models_relations_async import RelPost, RelUser

    user = RelUser(id=uuid.uuid4(), username="u")
    with pytest.raises(ParameterError, match=r"RelPost: author_id= and author= both set RelPost\.author_id"):
        RelPost(title="t", author_id=user.id, author=user)
    with pytest.raises(ParameterError, match=r"id= and pk= both set RelPost\.id"):
        RelPost(title="t", id=uuid.uuid4(), pk=uuid.uuid4())
    with pytest.raises(ParameterError, match=r"author= and author_id= both set"):
        field_values_for_insert(RelPost._meta, {"title": "t", "author": user, "author_id": user.id})
    with pytest.raises(ParameterError, match=r"update\(\): two keywords set RelPost\.author_id"):
        prepare_update_values(RelPost._meta, {"author": user, "author_id": user.id})


def test_an_unsaved_instance_as_a_foreign_key_value_says_to_save_it_first() -> None:
    class FkOwner(Model):
        id = AutoField()
        name = CharField(max_length=10)
        _database = "fk_unsaved_db"

    class FkThing(Model):
        id = AutoField()
        owner_id = ForeignKey("FkOwner", null=True)
        _database = "fk_unsaved_db"

    with pytest.raises(ValidationError, match=r"FkThing\.owner_id: the FkOwner given has no id yet: save it first"):
        FkThing(owner=FkOwner(name="a"))
    assert FkThing(owner=FkOwner(id=3, name="a")).owner_id == 3


def test_forget_models_unregisters_a_module_and_starts_resolution_over() -> None:
    from matrx_orm.core import registry

    namespace: dict = {"__name__": "throwaway_models_probe", "Model": Model, "AutoField": AutoField}
    exec("class ThrowawayProbe(Model):\n    id = AutoField()\n    _database = 'throwaway_db'\n", namespace)  # noqa: S102
    assert registry.get_meta("ThrowawayProbe", "throwaway_db") is not None
    generation = registry.registry_generation()
    assert registry.forget_models("throwaway_models_") == 1
    assert registry.get_meta("ThrowawayProbe", "throwaway_db") is None
    assert registry.registry_generation() != generation
    assert registry.forget_models("throwaway_models_") == 0
