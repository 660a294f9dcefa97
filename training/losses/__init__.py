"""Training losses: GAN objectives (BCE / LSGAN / hinge) and the DSANet terms."""

from training.losses.gan import GAN_LOSSES, discriminator_loss, generator_adv_loss

__all__ = ["GAN_LOSSES", "discriminator_loss", "generator_adv_loss"]
