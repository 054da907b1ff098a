"""The composition root: every port's implementation, built once at app or worker start.

`create_app(ports=...)` keeps them in `app.state` for the FastAPI dependencies
(`core.web.app_ports`); `Worker(context=...)` hands them to every job. A test or a benchmark
swaps one by building `Ports` with another (`build_ports(matcher=...)`), never by patching a
module. Domains name what they need as protocols (`HasMatcher`, `HasChannels`, ...); the
assignments at the bottom make mypy check that `Ports` satisfies each of them."""

from __future__ import annotations

from dataclasses import dataclass

from eid.biometrics.ports import BiometricMatcher
from eid.core.settings import Settings, get_settings
from eid.identity.ports import FaceMatcher
from eid.notify.ports import Channels
from eid.registry.ports import RegistryConnector
from eid.verification.gallery import Gallery


@dataclass(frozen=True)
class Ports:
    matcher: BiometricMatcher  # the biometric engine and its in-memory 1:N index
    gallery: Gallery  # the matcher's index kept in step with the gallery table
    face_matcher: FaceMatcher  # identity's 1:1 face check (device rebinding), on the matcher
    channels: Channels  # email and SMS
    registry: RegistryConnector  # the national immigration database


def build_ports(
    settings: Settings | None = None,
    *,
    matcher: BiometricMatcher | None = None,
    channels: Channels | None = None,
    registry: RegistryConnector | None = None,
    face_matcher: FaceMatcher | None = None,
) -> Ports:
    """The process's implementations: those given, the rest from the settings. Cheap: the
    biometric models load on first use."""
    from eid.biometrics.matcher import EngineMatcher
    from eid.identity.rebind import EngineFaceMatcher
    from eid.notify.channels import channels_from_settings
    from eid.registry.service import ReferenceRegistry

    settings = settings or get_settings()
    matcher = matcher or EngineMatcher()
    return Ports(
        matcher=matcher,
        gallery=Gallery(matcher),
        face_matcher=face_matcher or EngineFaceMatcher(matcher),
        channels=channels or channels_from_settings(settings),
        registry=registry or ReferenceRegistry,
    )


def _satisfies(ports: Ports) -> None:
    """Never called: mypy checks here that `Ports` is what each domain asks for."""
    from eid.enrolment.endpoints import EnrolmentPorts
    from eid.enrolment.registration_endpoints import RegistrationPorts
    from eid.enrolment.tasks import VerificationPorts
    from eid.identity.ports import HasFaceMatcher
    from eid.notify.ports import HasChannels

    enrolment: EnrolmentPorts = ports
    registrations: RegistrationPorts = ports
    verification: VerificationPorts = ports
    identity: HasFaceMatcher = ports
    notify: HasChannels = ports
    del enrolment, registrations, verification, identity, notify
