"""Sending email: the MailSender port, message building, and the file/SMTP/SendGrid providers."""
