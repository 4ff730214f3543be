from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile, Role


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_every_user_a_profile(sender, instance, created, **kwargs):
    # Every user needs a role and team for visibility to work; superusers start as admins.
    if created and not kwargs.get("raw"):
        Profile.objects.get_or_create(
            user=instance, defaults={"role": Role.ADMIN if instance.is_superuser else Role.SELLER}
        )
