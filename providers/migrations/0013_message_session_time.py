# The session index carries the time too: a party's texts in a session within a window
# are read without the rest of a long session (providers/loops.py).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0012_message_system"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="message",
            name="message_session",
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["session", "created_at"], name="message_session_time"),
        ),
    ]
