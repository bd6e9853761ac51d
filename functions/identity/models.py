"""Identity's I/O models: the published key set."""

from pydantic import BaseModel, ConfigDict, Field


class PublicJwk(BaseModel):
    """One public key (RFC 7517); private members are not part of the model, so they could
    not be published even if the parameter held them."""

    model_config = ConfigDict(extra="ignore")

    kty: str = Field(examples=["EC"])
    kid: str
    alg: str | None = Field(default=None, examples=["ES256"])
    use: str | None = Field(default=None, examples=["sig"])
    crv: str | None = Field(default=None, examples=["P-256"])
    x: str | None = None
    y: str | None = None
    n: str | None = None
    e: str | None = None


class Jwks(BaseModel):
    keys: list[PublicJwk]
