from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from eid.notify.ports import DeliveryFailed

# Reply codes 5xx are permanent by RFC 5321 §4.2.1; 4xx are transient.
_PERMANENT_FROM = 500


class SmtpEmailSender:
    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 15.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls()
                    smtp.ehlo()
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            # The exception's text names the address: report only the reply code.
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"SMTP refused the recipient ({codes[0] if codes else '?'})",
                permanent=all(code >= _PERMANENT_FROM for code in codes),
            ) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise DeliveryFailed(
                f"SMTP refused the message ({exc.smtp_code})",
                permanent=exc.smtp_code >= _PERMANENT_FROM,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"SMTP server unreachable ({type(exc).__name__})", permanent=False
            ) from None
