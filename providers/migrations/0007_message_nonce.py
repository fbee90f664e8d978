from django.db import migrations, models


class Migration(migrations.Migration):
    """A signature's one-time id is a column of the event's log row.

    The table of seen signature ids leaves the models but stays in the database for
    one release, and the column has a database default: processes of the previous
    release keep working while a deployment rolls out. The next release drops it.
    """

    dependencies = [
        ("providers", "0006_opt_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="nonce",
            field=models.CharField(blank=True, db_default="", default="", max_length=255),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                condition=models.Q(("nonce", ""), _negated=True),
                fields=("nonce",),
                name="message_nonce_unique",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SeenSignature")],
        ),
        migrations.DeleteModel(name="DeliveryTask"),
    ]
