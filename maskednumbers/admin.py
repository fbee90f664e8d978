from django.contrib import admin

admin.site.site_header = "Masked numbers"
admin.site.site_title = "Masked numbers"
admin.site.index_title = "Dashboard"
# There is no public site to view: the admin, the API and the webhooks are all there is.
admin.site.site_url = None
