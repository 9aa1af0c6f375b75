from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="can_view_pii",
            field=models.BooleanField(default=False),
        ),
    ]
