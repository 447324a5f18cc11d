<?php
// Roundcube (Debian's roundcube package, 1.6) against mailsuite.
//
// Install as /etc/roundcube/mailsuite.inc.php and add this line at the end
// of /etc/roundcube/config.inc.php, after the settings Debian wrote there
// (the database from dbconfig-common, des_key):
//
//     include '/etc/roundcube/mailsuite.inc.php';
//
// Replace mail.example.com with the name on mailsuite's certificate
// (tls.cert). The e2e test TestRoundcube loads this file and changes only
// the addresses, the certificate and the local paths.

// IMAP to imapd with STARTTLS on 143 ("ssl://mail.example.com:993" for
// implicit TLS on imapd.tls_listen).
$config['imap_host'] = 'tls://mail.example.com:143';

// Sending goes through smtpd's submission port with STARTTLS, logged in
// as the user with the user's own password: the same sender checks and
// sending limits as any mail client.
$config['smtp_host'] = 'tls://mail.example.com:587';
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';

// Certificates are verified. A certificate from a public CA needs nothing
// more; for a private one (or the self-signed one of deploy/dev), give its
// CA (or the certificate itself) as 'cafile'. When Roundcube connects by
// another name than the certificate's (say 127.0.0.1 on the same host),
// set 'peer_name' to the certificate's name.
$config['imap_conn_options'] = [
    'ssl' => [
        'verify_peer'      => true,
        'verify_peer_name' => true,
        // 'cafile'        => '/etc/mailsuite/ca.pem',
        // 'peer_name'     => 'mail.example.com',
    ],
];
$config['smtp_conn_options'] = $config['imap_conn_options'];

// The special-use folders imapd creates for every user (\Drafts, \Sent,
// \Junk, \Trash); they exist already, so Roundcube creates none.
$config['drafts_mbox'] = 'Drafts';
$config['sent_mbox'] = 'Sent';
$config['junk_mbox'] = 'Junk';
$config['trash_mbox'] = 'Trash';
$config['create_default_folders'] = false;
$config['protect_default_folders'] = true;

// Users log in with their full address, as in every other client.
$config['login_lc'] = 2;

// Sessions: cookies only over HTTPS and not sent on cross-site requests,
// bound to the client address, ended after 30 minutes without use.
// Serve Roundcube over HTTPS only (force_https redirects plain HTTP; set
// use_https instead when a proxy in front of it ends TLS).
$config['force_https'] = true;
$config['session_samesite'] = 'Strict';
$config['ip_check'] = true;
$config['session_lifetime'] = 30;
$config['login_rate_limit'] = 3;
$config['x_frame_options'] = 'sameorigin';
$config['display_product_info'] = 0;
$config['enable_installer'] = false;

$config['skin'] = 'elastic';

// Password changes (roundcube-plugins' password plugin) go to imapd's
// endpoint imapd.password_api with the httpapi driver: imapd checks the
// current password as a login (with its throttle), applies mailsuite's
// password policy and revokes the user's relay grants. The web server
// never writes the store.
$config['plugins'] = array_merge($config['plugins'] ?? [], ['password']);
$config['password_driver'] = 'httpapi';
$config['password_httpapi_url'] = 'http://127.0.0.1:8143/';  // imapd.password_api
$config['password_httpapi_method'] = 'POST';
$config['password_httpapi_var_user'] = 'user';
$config['password_httpapi_var_curpass'] = 'curpass';
$config['password_httpapi_var_newpass'] = 'newpass';
$config['password_httpapi_expect'] = '/^ok$/';
$config['password_confirm_current'] = true;
// Keep equal to auth.min_password_length, so the form says it before
// imapd refuses a shorter one.
$config['password_minimum_length'] = 10;
